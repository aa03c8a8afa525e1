using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.KServe.Protocol;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>
/// Triton's <c>--http-restricted-api</c> and <c>--grpc-restricted-protocol</c>: a request of a restricted group
/// without its header gets 403 / UNAVAILABLE with Triton's message; other groups and the other transport stay open.
/// </summary>
public sealed class RestrictedApiTests : IDisposable
{
    private const int T = TestRepository.Tile;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    public RestrictedApiTests()
    {
        Directory.CreateDirectory(_root);
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, T, name: "mean_u8"));
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Fact]
    public async Task HttpRestrictedApisNeedTheirHeader()
    {
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with
        {
            HttpRestrictedApis = RestrictedApis.Parse(["model-repository,shared-memory:admin-key=s3cret=x", "statistics:stats-key=look"]),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };

        async Task AssertRestrictedAsync(HttpRequestMessage request, string header)
        {
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
            Assert.Equal($"This API is restricted, expecting header '{header}'", error);
        }

        await AssertRestrictedAsync(new HttpRequestMessage(HttpMethod.Post, "/v2/repository/index"), "admin-key");
        await AssertRestrictedAsync(new HttpRequestMessage(HttpMethod.Post, "/v2/repository/models/mean_u8/unload"), "admin-key");
        await AssertRestrictedAsync(WithHeader(HttpMethod.Post, "/v2/repository/index", "admin-key", "s3cret"), "admin-key"); // value must match exactly
        await AssertRestrictedAsync(new HttpRequestMessage(HttpMethod.Get, "/v2/systemsharedmemory/status"), "admin-key");
        await AssertRestrictedAsync(WithHeader(HttpMethod.Get, "/v2/models/stats", "admin-key", "s3cret=x"), "stats-key");
        await AssertRestrictedAsync(new HttpRequestMessage(HttpMethod.Get, "/v2/models/mean_u8/versions/1/stats"), "stats-key");

        using (var index = await http.SendAsync(WithHeader(HttpMethod.Post, "/v2/repository/index", "Admin-Key", "s3cret=x")))
        {
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        }
        using (var stats = await http.SendAsync(WithHeader(HttpMethod.Get, "/v2/models/mean_u8/stats", "stats-key", "look")))
        {
            Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        }

        // Groups not named stay open.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/mean_u8")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/mean_u8/config")).StatusCode);
        var pixels = Requests.Pixels(1, T, seed: 1);
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], binarySize: pixels.Length)) };
        using (var infer = await http.PostAsync("/v2/models/mean_u8/infer", Requests.Binary(header, pixels)))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        }

        // The REST restriction does not touch gRPC, which has its own flag.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.Single((await grpc.RepositoryIndexAsync(new RepositoryIndexRequest())).Models);
    }

    [Fact]
    public async Task GrpcRestrictedProtocolsNeedTheirPrefixedHeader()
    {
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with
        {
            GrpcRestrictedProtocols = RestrictedApis.Parse(["model-repository:admin-key=s3cret", "inference:infer-key=go"], RestrictedApis.GrpcHeaderPrefix),
        });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var admin = new Metadata { { "triton-grpc-protocol-admin-key", "s3cret" } };
        var infer = new Metadata { { "triton-grpc-protocol-infer-key", "go" } };

        static void AssertRestricted(RpcException ex, string key)
        {
            Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
            Assert.Equal($"This protocol is restricted, expecting header 'triton-grpc-protocol-{key}'", ex.Status.Detail);
        }

        AssertRestricted(await Assert.ThrowsAsync<RpcException>(async () => await grpc.RepositoryIndexAsync(new RepositoryIndexRequest())), "admin-key");
        AssertRestricted(await Assert.ThrowsAsync<RpcException>(async () => await grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mean_u8" })), "admin-key");
        // Triton's gRPC key is the prefixed one; the bare key does not count.
        AssertRestricted(await Assert.ThrowsAsync<RpcException>(async () => await grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), new Metadata { { "admin-key", "s3cret" } })), "admin-key");
        Assert.Single((await grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), admin)).Models);

        var pixels = Requests.Pixels(1, T, seed: 2);
        var request = Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], pixels);
        AssertRestricted(await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(request)), "infer-key");
        AssertRestricted(await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(request, admin)), "infer-key");
        var answer = await grpc.ModelInferAsync(request, infer);
        Assert.Equal(Requests.Means(pixels, 1)[0], Requests.Floats(answer.RawOutputContents[0])[0], 0.01f);

        using (var stream = grpc.ModelStreamInfer())
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await stream.RequestStream.WriteAsync(request);
                await stream.RequestStream.CompleteAsync();
                await stream.ResponseStream.MoveNext(CancellationToken.None);
            });
            AssertRestricted(ex, "infer-key");
        }
        using (var stream = grpc.ModelStreamInfer(infer))
        {
            await stream.RequestStream.WriteAsync(request);
            await stream.RequestStream.CompleteAsync();
            Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal("", stream.ResponseStream.Current.ErrorMessage);
        }

        // Unnamed groups stay open, and REST is not restricted by the gRPC flag.
        Assert.True((await grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal("mean_u8", (await grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "mean_u8" })).Name);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/index", null)).StatusCode);
    }

    [Fact]
    public void SpecsParseAsTritonsAndBadOnesSayWhy()
    {
        var apis = RestrictedApis.Parse(["model-repository, shared-memory:admin-key=a:b=c", "health:probe=1"], RestrictedApis.GrpcHeaderPrefix);
        Assert.Equal(new ApiRestriction("triton-grpc-protocol-admin-key", "a:b=c"), apis.For(ApiCategory.ModelRepository));
        Assert.Equal(apis.For(ApiCategory.ModelRepository), apis.For(ApiCategory.SharedMemory));
        Assert.Equal(new ApiRestriction("triton-grpc-protocol-probe", "1"), apis.For(ApiCategory.Health));
        Assert.Null(apis.For(ApiCategory.Inference));
        Assert.True(RestrictedApis.Parse([]).IsEmpty);

        foreach (var (spec, why) in new[]
        {
            ("model-repository", "API_1,API_2"),
            ("model-repository:admin-key", "API_1,API_2"),
            (":admin-key=v", "API_1,API_2"),
            ("model-repo:admin-key=v", "unknown API 'model-repo'"),
            ("model-repository:=v", "header name"),
            ("model-repository:bad key=v", "header name"),
            ("model-repository:admin-key=", "must not be empty"),
        })
        {
            var ex = Assert.Throws<FormatException>(() => RestrictedApis.Parse([spec]));
            Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        }
        var twice = Assert.Throws<FormatException>(() => RestrictedApis.Parse(["statistics:a=1", "trace,statistics:b=2"]));
        Assert.Contains("'statistics' is already in another group", twice.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v2", ApiCategory.Metadata)]
    [InlineData("/v2/health/live", ApiCategory.Health)]
    [InlineData("/v2/models/m/ready", ApiCategory.Health)]
    [InlineData("/v2/models/m/versions/2/ready", ApiCategory.Health)]
    [InlineData("/v2/models/m", ApiCategory.Metadata)]
    [InlineData("/v2/models/m/versions/2", ApiCategory.Metadata)]
    [InlineData("/v2/models/m/config", ApiCategory.ModelConfig)]
    [InlineData("/v2/models/m/infer", ApiCategory.Inference)]
    [InlineData("/v2/models/m/versions/2/infer", ApiCategory.Inference)]
    [InlineData("/v2/models/stats", ApiCategory.Statistics)]
    [InlineData("/v2/models/m/stats", ApiCategory.Statistics)]
    [InlineData("/v2/repository/index", ApiCategory.ModelRepository)]
    [InlineData("/v2/repository/models/m/load", ApiCategory.ModelRepository)]
    [InlineData("/v2/cudasharedmemory/region/r/register", ApiCategory.SharedMemory)]
    [InlineData("/v2/trace/setting", ApiCategory.Trace)]
    [InlineData("/v2/models/m/trace/setting", ApiCategory.Trace)]
    [InlineData("/v2/logging", ApiCategory.Logging)]
    [InlineData("/metrics", null)]
    [InlineData("/v2/models/m/unknown", null)]
    public void HttpPathsFallInTritonsGroups(string path, ApiCategory? category) => Assert.Equal(category, RestrictedApis.CategorizeHttp(path));

    [Theory]
    [InlineData("ServerLive", ApiCategory.Health)]
    [InlineData("ModelReady", ApiCategory.Health)]
    [InlineData("ServerMetadata", ApiCategory.Metadata)]
    [InlineData("ModelStreamInfer", ApiCategory.Inference)]
    [InlineData("ModelConfig", ApiCategory.ModelConfig)]
    [InlineData("ModelStatistics", ApiCategory.Statistics)]
    [InlineData("RepositoryModelUnload", ApiCategory.ModelRepository)]
    [InlineData("SystemSharedMemoryRegister", ApiCategory.SharedMemory)]
    [InlineData("TraceSetting", ApiCategory.Trace)]
    [InlineData("LogSettings", ApiCategory.Logging)]
    [InlineData("Nope", null)]
    public void GrpcMethodsFallInTritonsGroups(string method, ApiCategory? category) =>
        Assert.Equal(category, RestrictedApis.CategorizeGrpc($"/inference.GRPCInferenceService/{method}"));

    private static HttpRequestMessage WithHeader(HttpMethod method, string path, string header, string value)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(header, value);
        return request;
    }
}
