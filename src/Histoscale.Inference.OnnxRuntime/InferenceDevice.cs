using Microsoft.ML.OnnxRuntime;

namespace Histoscale.Inference.OnnxRuntime;

/// <summary>Where ONNX Runtime executes: <c>--device cpu|cuda|tensorrt</c> (optionally <c>cuda:1</c>).</summary>
public enum InferenceDevice
{
    /// <summary>ONNX Runtime's default CPU execution provider.</summary>
    Cpu,
    /// <summary>CUDA execution provider on an NVIDIA GPU.</summary>
    Cuda,
    /// <summary>TensorRT execution provider (with CUDA behind it) on an NVIDIA GPU.</summary>
    TensorRt,
}

/// <summary>Parses device names and appends the matching execution providers to session options.</summary>
public static class ExecutionProviders
{
    /// <summary>ONNX Runtime's name for the CUDA execution provider.</summary>
    public const string CudaProvider = "CUDAExecutionProvider";
    /// <summary>ONNX Runtime's name for the TensorRT execution provider.</summary>
    public const string TensorRtProvider = "TensorrtExecutionProvider";

    /// <summary>Parses "cpu", "cuda", "cuda:1", "tensorrt"/"trt" (case-insensitive); the suffix is the GPU id.</summary>
    public static (InferenceDevice Device, int DeviceId) Parse(string device)
    {
        var parts = device.Trim().ToLowerInvariant().Split(':', 2);
        var kind = parts[0] switch
        {
            "cpu" => InferenceDevice.Cpu,
            "cuda" or "gpu" => InferenceDevice.Cuda,
            "tensorrt" or "trt" => InferenceDevice.TensorRt,
            _ => throw new DeviceConfigException($"unknown device '{device}' (expected cpu, cuda or tensorrt, optionally with :GPU_ID)"),
        };
        var id = 0;
        if (parts.Length == 2 && (!int.TryParse(parts[1], out id) || id < 0))
        {
            throw new DeviceConfigException($"invalid GPU id in device '{device}'");
        }
        return (kind, id);
    }

    /// <summary>Providers compiled into the ONNX Runtime native library that was loaded.</summary>
    public static IReadOnlyList<string> Available() => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>
    /// Appends providers for <paramref name="device"/> with default provider settings (CPU is always the fallback ORT
    /// adds itself). See <see cref="Append(SessionOptions, InferenceDevice, int, GpuProviderOptions?)"/>.
    /// </summary>
    public static void Append(SessionOptions options, InferenceDevice device, int deviceId) => Append(options, device, deviceId, null);

    /// <summary>
    /// Appends providers for <paramref name="device"/> configured by <paramref name="gpu"/> (CPU is always the
    /// fallback ORT adds itself). The default build references the CPU package (Microsoft.ML.OnnxRuntime); building
    /// with <c>-p:HistoscaleGpu=true</c> references Microsoft.ML.OnnxRuntime.Gpu.Linux instead, which carries the CUDA
    /// and TensorRT providers (the GPU image). TensorRT gets CUDA behind it for the nodes TensorRT does not take.
    /// </summary>
    /// <exception cref="DeviceConfigException">This build has no such provider, or it cannot start.</exception>
    public static void Append(SessionOptions options, InferenceDevice device, int deviceId, GpuProviderOptions? gpu)
    {
        if (device == InferenceDevice.Cpu)
        {
            return;
        }
        gpu ??= new GpuProviderOptions();
        var available = Available();
        var wanted = device == InferenceDevice.TensorRt ? TensorRtProvider : CudaProvider;
        if (!available.Contains(wanted))
        {
            throw new DeviceConfigException(MissingProviderMessage(device, available));
        }
        try
        {
            if (device == InferenceDevice.TensorRt)
            {
                using var trt = new OrtTensorRTProviderOptions();
                trt.UpdateOptions(new Dictionary<string, string>(TensorRtProviderOptions(deviceId, gpu)));
                options.AppendExecutionProvider_Tensorrt(trt);
            }
            if (available.Contains(CudaProvider))
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>(CudaProviderOptions(deviceId, gpu)));
                options.AppendExecutionProvider_CUDA(cuda);
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new DeviceConfigException($"--device {Name(device)}: cannot start {wanted} on GPU {deviceId}: {ex.Message}", ex);
        }
    }

    /// <summary>The error for a device whose provider this build of ONNX Runtime lacks (the CPU build asked for a GPU).</summary>
    public static string MissingProviderMessage(InferenceDevice device, IReadOnlyList<string> available)
    {
        var what = device == InferenceDevice.TensorRt ? "TensorRT" : "CUDA";
        return $"--device {Name(device)}: this build has no {what} provider (ONNX Runtime providers here: {string.Join(", ", available)}); " +
            "use the GPU image / -p:HistoscaleGpu=true (Microsoft.ML.OnnxRuntime.Gpu.Linux)";
    }

    /// <summary>ONNX Runtime's CUDA provider-option keys and values for these settings.</summary>
    public static IReadOnlyDictionary<string, string> CudaProviderOptions(int deviceId, GpuProviderOptions gpu)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = GpuProviderOptions.Invariant(deviceId),
            ["arena_extend_strategy"] = gpu.ArenaExtendStrategy == CudaArenaExtendStrategy.SameAsRequested ? "kSameAsRequested" : "kNextPowerOfTwo",
            ["cudnn_conv_algo_search"] = gpu.ConvAlgoSearch switch
            {
                CudnnConvAlgoSearch.Heuristic => "HEURISTIC",
                CudnnConvAlgoSearch.Default => "DEFAULT",
                _ => "EXHAUSTIVE",
            },
            // Inputs are bound on the default stream; the copy and the kernels stay ordered.
            ["do_copy_in_default_stream"] = "1",
        };
        if (gpu.GpuMemoryLimitBytes is { } limit)
        {
            d["gpu_mem_limit"] = GpuProviderOptions.Invariant(limit);
        }
        return d;
    }

    /// <summary>ONNX Runtime's TensorRT provider-option keys and values for these settings.</summary>
    public static IReadOnlyDictionary<string, string> TensorRtProviderOptions(int deviceId, GpuProviderOptions gpu)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = GpuProviderOptions.Invariant(deviceId),
            ["trt_fp16_enable"] = gpu.TensorRtFp16 ? "1" : "0",
        };
        if (gpu.TensorRtEngineCachePath is { } cache)
        {
            d["trt_engine_cache_enable"] = "1";
            d["trt_engine_cache_path"] = cache;
            d["trt_timing_cache_enable"] = "1";
            d["trt_timing_cache_path"] = cache;
        }
        if (gpu.TensorRtMaxWorkspaceBytes is { } workspace)
        {
            d["trt_max_workspace_size"] = GpuProviderOptions.Invariant(workspace);
        }
        return d;
    }

    private static string Name(InferenceDevice device) => device == InferenceDevice.TensorRt ? "tensorrt" : device.ToString().ToLowerInvariant();
}
