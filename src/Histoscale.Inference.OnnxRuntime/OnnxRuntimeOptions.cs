namespace Histoscale.Inference.OnnxRuntime;

/// <summary>How to run a model with ONNX Runtime. Nulls mean "from the model config / machine".</summary>
public sealed record OnnxRuntimeOptions
{
    /// <summary>Where to execute; CPU by default.</summary>
    public InferenceDevice Device { get; init; } = InferenceDevice.Cpu;

    /// <summary>GPU ordinal for CUDA/TensorRT (the <c>1</c> in <c>cuda:1</c>); ignored on CPU.</summary>
    public int DeviceId { get; init; }

    /// <summary>Parallel sessions; null = the config's instance_group count.</summary>
    public int? Instances { get; init; }

    /// <summary>Intra-op threads per session; null = cores / instances (at least 1), so instances × threads ≤ cores.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Logical cores to share among instances; null = <see cref="Environment.ProcessorCount"/>.</summary>
    public int? Cores { get; init; }

    /// <summary>Batch size of the warm-up run each instance does at load; 0 disables warm-up.</summary>
    public int WarmupBatchSize { get; init; } = 1;

    /// <summary>
    /// Whether ORT worker threads spin while idle. Spinning lowers latency but burns CPU that decode/preprocess
    /// stages sharing the machine could use, so the pipeline may turn it off.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>
    /// Whether each session allocates activations from ONNX Runtime's CPU arena (its default). The arena keeps what
    /// it grew to for the largest batch and grows in power-of-two steps, so a server seeing many batch sizes holds
    /// the peak; without it every run allocates and frees with the system allocator. Measured RSS: docs/serving.md.
    /// </summary>
    public bool EnableCpuMemArena { get; init; } = true;

    /// <summary>
    /// Whether ORT plans one memory pattern per input shape (its default): faster for repeated shapes, but each
    /// distinct batch size of dynamic batching gets its own plan and allocation.
    /// </summary>
    public bool EnableMemoryPattern { get; init; } = true;

    /// <summary>
    /// Whether the CPU arena gives back its unused chunks after every run (ORT's
    /// <c>memory.enable_memory_arena_shrinkage</c>), so it does not stay at the largest batch's peak.
    /// </summary>
    public bool ArenaShrinkage { get; init; }

    /// <summary>CUDA/TensorRT provider settings (FP16, engine cache, arena, cuDNN search); ignored on CPU.</summary>
    public GpuProviderOptions Gpu { get; init; } = new();

    /// <summary>
    /// Whether sessions run batches through ONNX Runtime's IO binding (inputs and outputs bound to the caller's pinned
    /// buffers, one <c>OrtIoBinding</c> per instance); null = on for CUDA/TensorRT, off on CPU, where it measured no
    /// faster than the plain run (BENCHMARKS.md, "IO binding"). Results are byte-identical either way.
    /// </summary>
    public bool? IoBinding { get; init; }

    /// <summary>Whether <see cref="IoBinding"/> resolves to on for this device.</summary>
    public bool UsesIoBinding => IoBinding ?? Device != InferenceDevice.Cpu;

    /// <summary>Parses the CLI's <c>--device</c> value into <see cref="Device"/>/<see cref="DeviceId"/>.</summary>
    public OnnxRuntimeOptions WithDevice(string device)
    {
        var (kind, id) = ExecutionProviders.Parse(device);
        return this with { Device = kind, DeviceId = id };
    }
}
