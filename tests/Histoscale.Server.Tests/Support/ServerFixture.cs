using System.Net.Http.Json;
using Grpc.Net.Client;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.KServe.Protocol;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server.Tests.Support;

/// <summary>
/// One in-process server on loopback with free ports over the test repository, shared by the tests of a
/// collection, with real clients: an HttpClient on the REST port, a generated gRPC client on the gRPC port, and an
/// HttpClient on the metrics port.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const long MaxBodyBytes = 1 << 20;

    private string _root = "";
    private GrpcChannel? _channel;

    public InferenceServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public HttpClient Metrics { get; private set; } = null!;

    internal GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    public string Repository => _root;

    public string HttpUrl => $"http://127.0.0.1:{Server.HttpPort}";

    public string GrpcUrl => $"grpc://127.0.0.1:{Server.GrpcPort}";

    public async Task InitializeAsync()
    {
        _root = TestRepository.Create();
        // Explicit model control with every model loaded: the shared server's tests load and unload at runtime.
        Server = await StartAsync(_root, configure: o => o with { ModelControl = Models.ModelControlMode.Explicit, StartupModels = ["*"] });
        Http = new HttpClient { BaseAddress = new Uri(HttpUrl) };
        Metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Server.MetricsPort}") };
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Server.GrpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Metrics.Dispose();
        _channel?.Dispose();
        await Server.DisposeAsync();
        TestRepository.Delete(_root);
    }

    /// <summary>
    /// A server on free loopback ports (or the given ones) with small ORT thread counts for a 2-core machine;
    /// <paramref name="configure"/> changes what a test is about.
    /// </summary>
    public static Task<InferenceServer> StartAsync(
        string repository, int httpPort = 0, int grpcPort = 0, int metricsPort = 0, TimeSpan? shutdownTimeout = null, Func<InferenceServerOptions, InferenceServerOptions>? configure = null) =>
        InferenceServer.StartAsync((configure ?? (o => o))(new InferenceServerOptions
        {
            ModelRepository = repository,
            Host = "127.0.0.1",
            HttpPort = httpPort,
            GrpcPort = grpcPort,
            MetricsPort = metricsPort,
            MaxRequestBodyBytes = MaxBodyBytes,
            ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(10),
            Runtime = new OnnxRuntimeOptions { IntraOpThreads = 1, AllowSpinning = false },
            LogLevel = LogLevel.Warning,
        }));

    public async Task<System.Text.Json.JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
