namespace Histoscale.Pipeline.Execution;

/// <summary>
/// How the stages of one slide run. Defaults suit a small CPU machine: read workers mostly sleep under backpressure
/// when the model is the bottleneck, so one per core costs little and keeps a cheap model fed.
/// </summary>
public sealed record PipelineOptions
{
    /// <summary>Tiles per batch (≤ the model's max batch size).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Threads reading, decoding and packing tiles; null = one per core.</summary>
    public int? ReadWorkers { get; init; }

    /// <summary>
    /// Batches being filled ahead of inference. Two keep the model busy while a batch boundary is crossed; more only
    /// cost memory.
    /// </summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Upper bound on the memory of all batch buffers together; the prefetch depth shrinks to fit it.</summary>
    public long MaxBatchBufferBytes { get; init; } = 1L << 30;

    /// <summary><see cref="ReadWorkers"/>, or the processor count when it is null.</summary>
    public int EffectiveReadWorkers => Math.Max(1, ReadWorkers ?? Environment.ProcessorCount);

    /// <summary>Checks the values are usable.</summary>
    /// <exception cref="PipelineConfigException">Batch size below 1, read workers outside 1–256, or prefetch outside 1–64 batches.</exception>
    public void Validate()
    {
        if (BatchSize < 1)
        {
            throw new PipelineConfigException($"batch size {BatchSize} must be at least 1");
        }
        if (ReadWorkers is < 1 or > 256)
        {
            throw new PipelineConfigException($"read workers {ReadWorkers} must be between 1 and 256");
        }
        if (PrefetchBatches is < 1 or > 64)
        {
            throw new PipelineConfigException($"prefetch {PrefetchBatches} must be between 1 and 64 batches");
        }
    }
}
