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
    /// Appends providers for <paramref name="device"/> (CPU is always the fallback ORT adds itself). The default build
    /// references the CPU package (Microsoft.ML.OnnxRuntime); building with <c>-p:HistoscaleGpu=true</c> references
    /// Microsoft.ML.OnnxRuntime.Gpu.Linux instead, which carries the CUDA and TensorRT providers (the GPU image).
    /// </summary>
    public static void Append(SessionOptions options, InferenceDevice device, int deviceId)
    {
        if (device == InferenceDevice.Cpu)
        {
            return;
        }
        var available = Available();
        var wanted = device == InferenceDevice.TensorRt ? TensorRtProvider : CudaProvider;
        if (!available.Contains(wanted))
        {
            throw new DeviceConfigException(
                $"--device {device.ToString().ToLowerInvariant()}: {wanted} is not available in this build of ONNX Runtime " +
                $"(available: {string.Join(", ", available)}); this is the CPU build — " +
                "build with -p:HistoscaleGpu=true (Microsoft.ML.OnnxRuntime.Gpu.Linux) or use the GPU image for CUDA/TensorRT");
        }
        try
        {
            if (device == InferenceDevice.TensorRt)
            {
                options.AppendExecutionProvider_Tensorrt(deviceId);
            }
            // CUDA also backs TensorRT for the nodes TensorRT does not take.
            if (available.Contains(CudaProvider))
            {
                options.AppendExecutionProvider_CUDA(deviceId);
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new DeviceConfigException($"--device {device.ToString().ToLowerInvariant()}: cannot start {wanted} on GPU {deviceId}: {ex.Message}", ex);
        }
    }
}
