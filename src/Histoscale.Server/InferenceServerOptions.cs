using Histoscale.Inference.OnnxRuntime;
using Histoscale.Server.Kserve;
using Histoscale.Server.Models;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server;

/// <summary>How <see cref="InferenceServer"/> listens and runs. Ports default to Triton's; 0 picks a free port.</summary>
public sealed record InferenceServerOptions
{
    /// <summary>Triton-layout model repository (REPO/NAME/config.pbtxt, REPO/NAME/VERSION/model.onnx).</summary>
    public required string ModelRepository { get; init; }

    /// <summary>
    /// Address all three listeners bind: an IP, "localhost", or "0.0.0.0" / "*" for every interface (the default, as
    /// Triton's). Anything that can reach the ports can use every unrestricted API, so bind 127.0.0.1 for local use.
    /// </summary>
    public string Host { get; init; } = "0.0.0.0";

    /// <summary>KServe v2 REST port; Triton's 8000 by default.</summary>
    public int HttpPort { get; init; } = 8000;

    /// <summary>KServe v2 gRPC port; Triton's 8001 by default.</summary>
    public int GrpcPort { get; init; } = 8001;

    /// <summary>Prometheus metrics port (<c>/metrics</c>); Triton's 8002 by default.</summary>
    public int MetricsPort { get; init; } = 8002;

    /// <summary>
    /// More endpoints for the HTTP listener (a host composing another feature next to KServe, such as the slide
    /// archive); they are reachable on the HTTP port only. Null adds none.
    /// </summary>
    public Action<Microsoft.AspNetCore.Routing.IEndpointRouteBuilder>? MapHttpEndpoints { get; init; }

    /// <summary>Largest REST request body; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Largest gRPC message a client may send; larger ones get RESOURCE_EXHAUSTED and the server goes on. Triton
    /// allows 2 GiB; 256 MiB holds a batch of 64 FP32 3×512×512 tiles (192 MiB) with room to spare, while a
    /// handful of oversized requests cannot exhaust memory (each message is buffered whole, then parsed).
    /// </summary>
    public int MaxGrpcMessageBytes { get; init; } = DefaultMaxGrpcMessageBytes;

    /// <summary>
    /// Bytes of inference requests held at once — queued, running or being answered, counted by their message size —
    /// beyond which new ones are refused with HTTP 503 / gRPC UNAVAILABLE until earlier ones finish (as Triton's
    /// queue policy refuses a full queue). 0 = no limit. Hosts default it from the container's memory limit
    /// (<c>histoscale serve --memory-budget</c>: half the cgroup limit).
    /// </summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>256 MiB: the default of <see cref="MaxGrpcMessageBytes"/>.</summary>
    public const int DefaultMaxGrpcMessageBytes = 256 << 20;

    /// <summary>How long shutdown waits for in-flight requests (Triton's --exit-timeout-secs, 30 s).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Triton's model control mode. None (the default, as Triton's): every model loads at start and load/unload
    /// requests are refused. Explicit: <see cref="StartupModels"/> load at start and clients load and unload.
    /// Poll: every model loads at start and the repository is rescanned every <see cref="RepositoryPollInterval"/>.
    /// </summary>
    public ModelControlMode ModelControl { get; init; } = ModelControlMode.None;

    /// <summary>
    /// Explicit mode only: models to load at start (Triton's <c>--load-model</c>), <c>*</c> alone for all of them;
    /// empty starts with none. A named model that fails to load fails the start.
    /// </summary>
    public IReadOnlyList<string> StartupModels { get; init; } = [];

    /// <summary>Poll mode: time between repository scans (Triton's --repository-poll-secs, 15 s).</summary>
    public TimeSpan RepositoryPollInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>REST API groups that need a header (Triton's --http-restricted-api); none by default.</summary>
    public RestrictedApis HttpRestrictedApis { get; init; } = RestrictedApis.None;

    /// <summary>gRPC protocol groups that need a header (Triton's --grpc-restricted-protocol); none by default.</summary>
    public RestrictedApis GrpcRestrictedProtocols { get; init; } = RestrictedApis.None;

    /// <summary>
    /// ONNX Runtime settings for every model (device, threads); instances come from each config's instance_group.
    /// Spinning is off by default: idle ORT threads spinning would take the cores that parse and answer requests.
    /// </summary>
    public OnnxRuntimeOptions Runtime { get; init; } = new() { AllowSpinning = false };

    /// <summary>Minimum level the server logs at.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
}
