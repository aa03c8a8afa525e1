using System.Net;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Histoscale.Inference.Config;
using Histoscale.Synthesis.Models;
using Histoscale.KServe;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Servers of their own: graceful shutdown drains in-flight requests; remote backends survive a restart.</summary>
public sealed class RestartAndShutdownTests : IDisposable
{
    private const int T = TestRepository.Tile;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    public RestartAndShutdownTests()
    {
        Directory.CreateDirectory(_root);
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, T, name: "mean_u8"));
        // Requests wait up to a second for a batch to fill, so they are still queued when shutdown begins.
        var slow = DemoModels.MeanIntensity(TensorDataType.UInt8, T, name: "slow");
        slow.Config.DynamicBatching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 1_000_000 };
        ModelRepositoryWriter.Write(_root, slow);
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Fact]
    public async Task GracefulShutdownDrainsInFlightRequests()
    {
        var server = await ServerFixture.StartAsync(_root);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        var inputs = Enumerable.Range(0, 12).Select(i => Requests.Pixels(1, T, 400 + i)).ToArray();

        var grpcCalls = inputs[..6].Select(p => grpc.ModelInferAsync(Requests.Grpc("slow", "image", "UINT8", [1, 3, T, T], p)).ResponseAsync).ToArray();
        var httpCalls = inputs[6..].Select(p =>
        {
            var header = new JsonObject
            {
                ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], binarySize: p.Length)),
                ["parameters"] = new JsonObject { ["binary_data_output"] = true },
            };
            return http.PostAsync("/v2/models/slow/infer", Requests.Binary(header, p));
        }).ToArray();
        var statistics = server.Models.Resolve("slow", null).Statistics;
        // Every request has reached the server (queued or already answered) before shutdown begins.
        await WaitUntilAsync(() =>
        {
            var s = statistics.Snapshot();
            return s.PendingRequests + s.Success.Count + s.Fail.Count == inputs.Length;
        });
        Assert.True(statistics.PendingRequests > 0, "requests must still be queued when shutdown begins");

        var stop = server.StopAsync();
        Assert.False(server.State.Ready);
        for (var i = 0; i < 6; i++)
        {
            var response = await grpcCalls[i];
            Assert.Equal(Requests.Means(inputs[i], 1)[0], Requests.Floats(response.RawOutputContents[0])[0], 0.01f);
        }
        for (var i = 0; i < 6; i++)
        {
            using var response = await httpCalls[i];
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Requests.Means(inputs[6 + i], 1)[0], Requests.Floats((await Requests.ReadBinaryAsync(response)).Binary)[0], 0.01f);
        }
        await stop;
        await server.DisposeAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("/v2/health/live"));
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http")]
    public async Task RemoteBackendRecoversAfterServerRestart(string transport)
    {
        var ports = FreePorts.Take(3);
        var server = await ServerFixture.StartAsync(_root, ports[0], ports[1], ports[2]);
        var url = transport == "grpc" ? $"grpc://127.0.0.1:{ports[1]}" : $"http://127.0.0.1:{ports[0]}";
        await using var backend = await RemoteBackends.CreateAsync(url, "mean_u8", null,
            new RemoteBackendOptions { Concurrency = 2, MaxAttempts = 40, InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) });
        var pixels = Requests.Pixels(2, T, 500);
        using var inputs = new TensorSet().Add("image", Tensor.FromValues<byte>(TensorDataType.UInt8, pixels, 2, 3, T, T));
        (await backend.ExecuteAsync(inputs)).Dispose();

        await server.DisposeAsync();
        var restart = Task.Run(async () =>
        {
            await Task.Delay(400);
            return await ServerFixture.StartAsync(_root, ports[0], ports[1], ports[2]);
        });
        // Sent while the server is down: refused connections are retried until the new server answers.
        using (var outputs = await backend.ExecuteAsync(inputs))
        {
            Assert.Equal(Requests.Means(pixels, 2), outputs["mean_intensity"].ToArray<float>(), (a, b) => Math.Abs(a - b) < 1e-3);
        }
        await using var restarted = await restart;
        using (var outputs = await backend.ExecuteAsync(inputs))
        {
            Assert.Equal(2, outputs["mean_intensity"].BatchSize);
        }
    }

    [Fact]
    public async Task StartupModelsLoadOnlyThoseNamed()
    {
        await using var server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelRepository = _root,
            Host = "127.0.0.1",
            HttpPort = 0,
            GrpcPort = 0,
            MetricsPort = 0,
            ModelControl = Models.ModelControlMode.Explicit,
            StartupModels = ["mean_u8"],
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        Assert.Equal(["mean_u8"], server.Models.LoadedVersions.Select(v => v.Name));
        Assert.Contains(server.Models.Index(readyOnly: false), e => e.Name == "slow" && e.State is null);
        await Assert.ThrowsAsync<Histoscale.Inference.ModelConfigException>(() => InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelRepository = _root,
            Host = "127.0.0.1",
            HttpPort = 0,
            GrpcPort = 0,
            MetricsPort = 0,
            ModelControl = Models.ModelControlMode.Explicit,
            StartupModels = ["missing"],
        }));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(5);
        }
        Assert.True(condition());
    }
}
