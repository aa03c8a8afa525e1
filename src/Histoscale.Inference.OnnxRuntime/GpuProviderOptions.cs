using System.Globalization;

namespace Histoscale.Inference.OnnxRuntime;

/// <summary>How the CUDA arena grows (ONNX Runtime's <c>arena_extend_strategy</c>).</summary>
public enum CudaArenaExtendStrategy
{
    /// <summary>Grow in power-of-two steps (ORT's default, <c>kNextPowerOfTwo</c>): fewer, larger allocations.</summary>
    NextPowerOfTwo,
    /// <summary>Grow by exactly what a request needs (<c>kSameAsRequested</c>): less memory held, more allocations.</summary>
    SameAsRequested,
}

/// <summary>How cuDNN picks convolution algorithms (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvAlgoSearch
{
    /// <summary>Benchmark every algorithm on the first run of each shape (ORT's default): slowest start, fastest runs.</summary>
    Exhaustive,
    /// <summary>cuDNN's heuristics, no benchmarking.</summary>
    Heuristic,
    /// <summary>cuDNN's default algorithm.</summary>
    Default,
}

/// <summary>
/// Settings of the CUDA and TensorRT execution providers (<c>--device cuda|tensorrt</c>). They are turned into ONNX
/// Runtime's provider-option keys by <see cref="ExecutionProviders.CudaProviderOptions"/> and
/// <see cref="ExecutionProviders.TensorRtProviderOptions"/>; the CPU provider ignores them.
/// </summary>
public sealed record GpuProviderOptions
{
    /// <summary>TensorRT builds FP16 engines (<c>trt_fp16_enable</c>); layers TensorRT cannot run in FP16 stay FP32.</summary>
    public bool TensorRtFp16 { get; init; }

    /// <summary>
    /// Folder where TensorRT keeps built engines and timing caches (<c>trt_engine_cache_path</c>), so a restarted
    /// process skips the minutes-long engine build; null = no cache.
    /// </summary>
    public string? TensorRtEngineCachePath { get; init; }

    /// <summary>TensorRT builder workspace in bytes (<c>trt_max_workspace_size</c>); null = ORT's default.</summary>
    public long? TensorRtMaxWorkspaceBytes { get; init; }

    /// <summary>How the CUDA memory arena grows.</summary>
    public CudaArenaExtendStrategy ArenaExtendStrategy { get; init; } = CudaArenaExtendStrategy.NextPowerOfTwo;

    /// <summary>Cap on the CUDA arena in bytes (<c>gpu_mem_limit</c>); null = no cap.</summary>
    public long? GpuMemoryLimitBytes { get; init; }

    /// <summary>cuDNN convolution algorithm search.</summary>
    public CudnnConvAlgoSearch ConvAlgoSearch { get; init; } = CudnnConvAlgoSearch.Exhaustive;

    /// <summary>Parses <c>same|pow2</c> (also ORT's <c>kSameAsRequested|kNextPowerOfTwo</c>).</summary>
    /// <exception cref="DeviceConfigException">An unknown value.</exception>
    public static CudaArenaExtendStrategy ParseArenaExtendStrategy(string value) => value.Trim().ToLowerInvariant() switch
    {
        "pow2" or "nextpoweroftwo" or "knextpoweroftwo" => CudaArenaExtendStrategy.NextPowerOfTwo,
        "same" or "sameasrequested" or "ksameasrequested" => CudaArenaExtendStrategy.SameAsRequested,
        _ => throw new DeviceConfigException($"unknown CUDA arena extend strategy '{value}' (expected pow2 or same)"),
    };

    /// <summary>Parses <c>exhaustive|heuristic|default</c>.</summary>
    /// <exception cref="DeviceConfigException">An unknown value.</exception>
    public static CudnnConvAlgoSearch ParseConvAlgoSearch(string value) => value.Trim().ToLowerInvariant() switch
    {
        "exhaustive" => CudnnConvAlgoSearch.Exhaustive,
        "heuristic" => CudnnConvAlgoSearch.Heuristic,
        "default" => CudnnConvAlgoSearch.Default,
        _ => throw new DeviceConfigException($"unknown cuDNN conv algorithm search '{value}' (expected exhaustive, heuristic or default)"),
    };

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
