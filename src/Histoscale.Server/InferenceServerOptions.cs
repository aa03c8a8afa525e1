using Histoscale.Inference.OnnxRuntime;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server;

/// <summary>How <see cref="InferenceServer"/> listens and runs. Ports default to Triton's; 0 picks a free port.</summary>
public sealed record InferenceServerOptions
{
    /// <summary>Triton-layout model repository (REPO/NAME/config.pbtxt, REPO/NAME/VERSION/model.onnx).</summary>
    public required string ModelRepository { get; init; }

    /// <summary>Address to bind: an IP, "localhost", or "0.0.0.0" / "*" for every interface.</summary>
    public string Host { get; init; } = "0.0.0.0";

    /// <summary>KServe v2 REST port; Triton's 8000 by default.</summary>
    public int HttpPort { get; init; } = 8000;

    /// <summary>KServe v2 gRPC port; Triton's 8001 by default.</summary>
    public int GrpcPort { get; init; } = 8001;

    /// <summary>Prometheus metrics port (<c>/metrics</c>); Triton's 8002 by default.</summary>
    public int MetricsPort { get; init; } = 8002;

    /// <summary>Largest REST request body; larger ones get 413. gRPC messages are unlimited, as in Triton.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1L << 30;

    /// <summary>How long shutdown waits for in-flight requests (Triton's --exit-timeout-secs, 30 s).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Load every repository model at start (Triton's default); false starts empty, for load requests.</summary>
    public bool LoadAllModels { get; init; } = true;

    /// <summary>
    /// Models to load at start instead of all of them (Triton's <c>--load-model</c> in explicit mode); empty = as
    /// <see cref="LoadAllModels"/> says. A listed model that fails to load fails the start.
    /// </summary>
    public IReadOnlyList<string> StartupModels { get; init; } = [];

    /// <summary>
    /// ONNX Runtime settings for every model (device, threads); instances come from each config's instance_group.
    /// Spinning is off by default: idle ORT threads spinning would take the cores that parse and answer requests.
    /// </summary>
    public OnnxRuntimeOptions Runtime { get; init; } = new() { AllowSpinning = false };

    /// <summary>Minimum level the server logs at.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
}
