using System.CommandLine;
using Histoscale.Inference.OnnxRuntime;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>--device</c> and the CUDA/TensorRT provider flags, defined once for every command that runs a model in process
/// (infer, serve, bench infer). GPU-only flags with <c>--device cpu</c> are an input error rather than ignored.
/// </summary>
internal sealed class DeviceFlags(string deviceDescription = "cpu, cuda or tensorrt (optionally :GPU_ID)")
{
    public Option<string> Device { get; } = new("--device") { Description = deviceDescription, DefaultValueFactory = _ => "cpu" };

    public Option<bool> TrtFp16 { get; } = new("--trt-fp16") { Description = "TensorRT: build FP16 engines (--device tensorrt)" };

    public Option<string?> TrtEngineCache { get; } = new("--trt-engine-cache") { Description = "TensorRT: folder to keep built engines and timing caches in across restarts (--device tensorrt)" };

    public Option<string?> CudaArena { get; } = new("--cuda-arena") { Description = "CUDA arena growth: pow2 (ORT default) or same (grow by what is asked; less memory held)" };

    public Option<string?> CudnnConvSearch { get; } = new("--cudnn-conv-search") { Description = "cuDNN convolution algorithm search: exhaustive (ORT default), heuristic or default" };

    public Option<string> IoBinding { get; } = new("--io-binding") { Description = "Run batches through ONNX Runtime IO binding: auto (on for cuda/tensorrt), on or off", DefaultValueFactory = _ => "auto" };

    public IEnumerable<Option> All => [Device, TrtFp16, TrtEngineCache, CudaArena, CudnnConvSearch, IoBinding];

    /// <summary>The device string and provider settings these flags give, checked against each other.</summary>
    public (string Device, GpuProviderOptions Gpu, bool? IoBinding) Read(ParseResult r)
    {
        var device = r.GetValue(Device)!;
        var (kind, _) = ExecutionProviders.Parse(device);
        var gpu = new GpuProviderOptions
        {
            TensorRtFp16 = r.GetValue(TrtFp16),
            TensorRtEngineCachePath = r.GetValue(TrtEngineCache) is { } cache ? Path.GetFullPath(cache) : null,
            ArenaExtendStrategy = r.GetValue(CudaArena) is { } arena ? GpuProviderOptions.ParseArenaExtendStrategy(arena) : CudaArenaExtendStrategy.NextPowerOfTwo,
            ConvAlgoSearch = r.GetValue(CudnnConvSearch) is { } search ? GpuProviderOptions.ParseConvAlgoSearch(search) : CudnnConvAlgoSearch.Exhaustive,
        };
        if (kind != InferenceDevice.TensorRt && (gpu.TensorRtFp16 || gpu.TensorRtEngineCachePath is not null))
        {
            throw new InputException($"--trt-fp16 and --trt-engine-cache need --device tensorrt (got --device {device})");
        }
        if (kind == InferenceDevice.Cpu && (r.GetValue(CudaArena) is not null || r.GetValue(CudnnConvSearch) is not null))
        {
            throw new InputException($"--cuda-arena and --cudnn-conv-search need --device cuda or tensorrt (got --device {device})");
        }
        bool? io = r.GetValue(IoBinding)!.Trim().ToLowerInvariant() switch
        {
            "auto" => null,
            "on" or "true" => true,
            "off" or "false" => false,
            var other => throw new InputException($"--io-binding '{other}': expected auto, on or off"),
        };
        return (device, gpu, io);
    }
}
