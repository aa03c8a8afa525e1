using System.Net;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.KServe.Protocol;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Models;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Triton's model control modes (none, explicit, poll) over real REST and gRPC clients, servers of their own.</summary>
public sealed class ModelControlTests : IDisposable
{
    private const int T = TestRepository.Tile;
    private const string Refused = "explicit model load / unload is not allowed if polling is enabled";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    public ModelControlTests()
    {
        Directory.CreateDirectory(_root);
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, T, name: "mean_u8"));
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.Fp32, T, name: "mean_fp32"));
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Fact]
    public async Task NoneIsTheDefaultLoadsEverythingAndRefusesLoadAndUnload()
    {
        await using var server = await ServerFixture.StartAsync(_root);
        await using var clients = new Clients(server);
        Assert.Equal(ModelControlMode.None, server.Models.ControlMode);
        Assert.Equal(["mean_fp32", "mean_u8"], server.Models.LoadedVersions.Select(v => v.Name));

        foreach (var action in new[] { "load", "unload" })
        {
            foreach (var model in new[] { "mean_u8", "not_in_repository" })
            {
                using var response = await clients.Http.PostAsync($"/v2/repository/models/{model}/{action}", null);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal(Refused, await ErrorAsync(response));
            }
        }
        var load = await Assert.ThrowsAsync<RpcException>(async () => await clients.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mean_u8" }));
        Assert.Equal(StatusCode.Unavailable, load.StatusCode);
        Assert.Equal(Refused, load.Status.Detail);
        var unload = await Assert.ThrowsAsync<RpcException>(async () => await clients.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "mean_u8" }));
        Assert.Equal(StatusCode.Unavailable, unload.StatusCode);
        Assert.Equal(Refused, unload.Status.Detail);

        // The models keep serving, and the index still answers.
        Assert.Equal(HttpStatusCode.OK, (await clients.Http.GetAsync("/v2/models/mean_u8/ready")).StatusCode);
        await clients.AssertInfersAsync("mean_u8");
        var index = await clients.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.All(index.Models, m => Assert.Equal("READY", m.State));
    }

    [Fact]
    public async Task ExplicitLoadsTheNamedModelsOrAllWithStarAndClientsControlTheRest()
    {
        await using (var server = await StartAsync(o => o with { ModelControl = ModelControlMode.Explicit, StartupModels = ["mean_u8"] }))
        {
            await using var clients = new Clients(server);
            Assert.Equal(["mean_u8"], server.Models.LoadedVersions.Select(v => v.Name));
            Assert.Equal(HttpStatusCode.BadRequest, (await clients.Http.GetAsync("/v2/models/mean_fp32/ready")).StatusCode);
            using (var load = await clients.Http.PostAsync("/v2/repository/models/mean_fp32/load", null))
            {
                Assert.Equal(HttpStatusCode.OK, load.StatusCode);
            }
            Assert.True((await clients.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "mean_fp32" })).Ready);
            await clients.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "mean_u8" });
            Assert.False((await clients.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "mean_u8" })).Ready);
        }
        await using (var server = await StartAsync(o => o with { ModelControl = ModelControlMode.Explicit, StartupModels = ["*"] }))
        {
            Assert.Equal(["mean_fp32", "mean_u8"], server.Models.LoadedVersions.Select(v => v.Name));
        }
        await using (var server = await StartAsync(o => o with { ModelControl = ModelControlMode.Explicit }))
        {
            Assert.Empty(server.Models.LoadedVersions);
        }
        // Triton refuses these combinations too.
        await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(o => o with { ModelControl = ModelControlMode.Explicit, StartupModels = ["*", "mean_u8"] }));
        await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(o => o with { StartupModels = ["mean_u8"] }));
        await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(o => o with { ModelControl = ModelControlMode.Poll, StartupModels = ["mean_u8"] }));
    }

    [Fact]
    public async Task PollFollowsTheRepositoryAddedChangedAndRemovedModels()
    {
        await using var server = await StartAsync(o => o with { ModelControl = ModelControlMode.Poll, RepositoryPollInterval = TimeSpan.FromMilliseconds(100) });
        await using var clients = new Clients(server);
        Assert.Equal(["mean_fp32", "mean_u8"], server.Models.LoadedVersions.Select(v => v.Name));

        // Added: written beside the repository, then moved in whole (what docs/serving.md advises).
        var staging = _root + "-staging";
        ModelRepositoryWriter.Write(staging, DemoModels.MeanIntensity(TensorDataType.UInt8, T, name: "added"));
        Directory.Move(Path.Combine(staging, "added"), Path.Combine(_root, "added"));
        Directory.Delete(staging, recursive: true);
        await WaitUntilAsync(async () => (await clients.Http.GetAsync("/v2/models/added/ready")).StatusCode == HttpStatusCode.OK);
        await clients.AssertInfersAsync("added");

        // Changed in place (the poller may see half-written files; it loads once they settle): 8 px → 16 px tiles.
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, 16, name: "mean_u8"));
        await WaitUntilAsync(async () => (await clients.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "mean_u8" })).Inputs[0].Shape.Last() == 16);
        var pixels = Requests.Pixels(1, 16, seed: 3);
        var response = await clients.Grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, 16, 16], pixels));
        Assert.Equal(Requests.Means(pixels, 1)[0], Requests.Floats(response.RawOutputContents[0])[0], 0.01f);

        // Removed: unloaded and gone from the index.
        Directory.Delete(Path.Combine(_root, "added"), recursive: true);
        await WaitUntilAsync(async () => (await clients.Http.GetAsync("/v2/models/added/ready")).StatusCode == HttpStatusCode.BadRequest);
        var index = await clients.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.DoesNotContain(index.Models, m => m.Name == "added");
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await clients.Grpc.ModelInferAsync(Requests.Grpc("added", "image", "UINT8", [1, 3, T, T], Requests.Pixels(1, T, 4))));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);

        // The repository decides in poll mode: clients cannot load or unload.
        using var load = await clients.Http.PostAsync("/v2/repository/models/mean_fp32/unload", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, load.StatusCode);
        Assert.Equal(Refused, await ErrorAsync(load));
        await clients.AssertInfersAsync("mean_fp32");
    }

    private Task<InferenceServer> StartAsync(Func<InferenceServerOptions, InferenceServerOptions> configure) => ServerFixture.StartAsync(_root, configure: configure);

    private static async Task<string?> ErrorAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        // Generous: on a loaded 2-core machine a scan plus a model load can take seconds.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the server did not follow the repository within 60 s");
            await Task.Delay(50);
        }
    }

    /// <summary>Real REST and gRPC clients of one server.</summary>
    private sealed class Clients(InferenceServer server) : IAsyncDisposable
    {
        private readonly GrpcChannel _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");

        public HttpClient Http { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };

        public GRPCInferenceService.GRPCInferenceServiceClient Grpc => new(_channel);

        public async Task AssertInfersAsync(string model)
        {
            var pixels = Requests.Pixels(2, T, seed: 9);
            var datatype = server.Models.Resolve(model, null).Metadata.Inputs[0].DataType;
            var raw = datatype == TensorDataType.Fp32 ? Requests.Bytes(pixels.Select(b => (float)b).ToArray()) : pixels;
            var response = await Grpc.ModelInferAsync(Requests.Grpc(model, "image", datatype.ToKServeName(), [2, 3, T, T], raw));
            Assert.Equal(Requests.Means(pixels, 2), Requests.Floats(response.RawOutputContents[0]), (a, b) => Math.Abs(a - b) < 0.01);
        }

        public ValueTask DisposeAsync()
        {
            Http.Dispose();
            _channel.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
