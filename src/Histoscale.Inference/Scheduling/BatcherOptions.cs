using Histoscale.Inference.Config;

namespace Histoscale.Inference.Scheduling;

/// <summary>How <see cref="DynamicBatcher"/> forms batches; mirrors Triton's dynamic_batching block.</summary>
public sealed record BatcherOptions
{
    /// <summary>Whether requests are combined; off = every request is its own batch (Triton without dynamic_batching).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Largest batch to form; null = the backend's max batch size.</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Batch sizes to dispatch at as soon as they can be formed (preferred_batch_size).</summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    /// <summary>How long the oldest request may wait for a batch to fill (max_queue_delay_microseconds).</summary>
    public TimeSpan MaxQueueDelay { get; init; }

    /// <summary>Requests allowed to wait; beyond it requests are rejected as unavailable; 0 = unbounded (max_queue_size).</summary>
    public int MaxQueueSize { get; init; }

    /// <summary>Batches executing at once; null = the backend's instance count.</summary>
    public int? Concurrency { get; init; }

    /// <summary>Options from a model config: its dynamic_batching block, or batching off when absent.</summary>
    public static BatcherOptions FromConfig(ModelConfig config)
    {
        if (config.DynamicBatching is not { } d)
        {
            return new BatcherOptions { Enabled = false };
        }
        return new BatcherOptions
        {
            PreferredBatchSizes = [.. d.PreferredBatchSizes],
            MaxQueueDelay = TimeSpan.FromTicks(d.MaxQueueDelayMicroseconds * 10),
            MaxQueueSize = d.DefaultQueuePolicy?.MaxQueueSize ?? 0,
        };
    }
}
