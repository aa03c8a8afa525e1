using System.Collections.Concurrent;
using System.Diagnostics;

namespace Histoscale.Inference.Scheduling;

/// <summary>
/// Cumulative counters for one model, in the shape of Triton's statistics extension (success, fail, queue,
/// compute_input, compute_infer, compute_output as count + nanoseconds; inference_count; execution_count;
/// per-batch-size stats), so the server can expose them under Triton's metric names
/// (nv_inference_request_success, nv_inference_queue_duration_us, ...). Thread-safe; updated with Interlocked.
/// </summary>
public sealed class InferenceStatistics
{
    private readonly ConcurrentDictionary<int, BatchCounters> _batches = new();
    private long _successCount, _successNs, _failCount, _failNs, _queueCount, _queueNs;
    private long _inputCount, _inputNs, _inferCount, _inferNs, _outputCount, _outputNs;
    private long _inferenceCount, _executionCount, _lastInferenceMs, _pending;

    /// <summary>Requests waiting in the queue now (nv_inference_pending_request_count).</summary>
    public long PendingRequests => Interlocked.Read(ref _pending);

    internal void Enqueued() => Interlocked.Increment(ref _pending);

    internal void Dequeued() => Interlocked.Decrement(ref _pending);

    /// <summary>A request finished successfully; durations are those of the request and of its batch.</summary>
    internal void RecordSuccess(long requestTicks, long queueTicks, long inputTicks, long inferTicks, long outputTicks)
    {
        Add(ref _successCount, ref _successNs, requestTicks);
        Add(ref _queueCount, ref _queueNs, queueTicks);
        Add(ref _inputCount, ref _inputNs, inputTicks);
        Add(ref _inferCount, ref _inferNs, inferTicks);
        Add(ref _outputCount, ref _outputNs, outputTicks);
    }

    /// <summary>A request failed (including rejection by a full queue).</summary>
    internal void RecordFailure(long requestTicks) => Add(ref _failCount, ref _failNs, requestTicks);

    /// <summary>One backend execution of <paramref name="batchSize"/> items (inference_count += items, execution_count += 1).</summary>
    internal void RecordExecution(int batchSize, long inputTicks, long inferTicks, long outputTicks)
    {
        Interlocked.Add(ref _inferenceCount, batchSize);
        Interlocked.Increment(ref _executionCount);
        Interlocked.Exchange(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var b = _batches.GetOrAdd(batchSize, static _ => new BatchCounters());
        Interlocked.Increment(ref b.Count);
        Interlocked.Add(ref b.InputNs, ToNs(inputTicks));
        Interlocked.Add(ref b.InferNs, ToNs(inferTicks));
        Interlocked.Add(ref b.OutputNs, ToNs(outputTicks));
    }

    /// <summary>The counters and cumulative durations at this moment (each read atomically, not all together).</summary>
    public InferenceStatisticsSnapshot Snapshot() => new(
        new DurationStat(Interlocked.Read(ref _successCount), Interlocked.Read(ref _successNs)),
        new DurationStat(Interlocked.Read(ref _failCount), Interlocked.Read(ref _failNs)),
        new DurationStat(Interlocked.Read(ref _queueCount), Interlocked.Read(ref _queueNs)),
        new DurationStat(Interlocked.Read(ref _inputCount), Interlocked.Read(ref _inputNs)),
        new DurationStat(Interlocked.Read(ref _inferCount), Interlocked.Read(ref _inferNs)),
        new DurationStat(Interlocked.Read(ref _outputCount), Interlocked.Read(ref _outputNs)),
        Interlocked.Read(ref _inferenceCount),
        Interlocked.Read(ref _executionCount),
        Interlocked.Read(ref _lastInferenceMs),
        PendingRequests,
        [.. _batches.OrderBy(kv => kv.Key).Select(kv => new BatchStat(
            kv.Key,
            new DurationStat(kv.Value.Count, kv.Value.InputNs),
            new DurationStat(kv.Value.Count, kv.Value.InferNs),
            new DurationStat(kv.Value.Count, kv.Value.OutputNs)))]);

    private static void Add(ref long count, ref long ns, long ticks)
    {
        Interlocked.Increment(ref count);
        Interlocked.Add(ref ns, ToNs(ticks));
    }

    internal static long ToNs(long stopwatchTicks) => (long)(stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency));

    private sealed class BatchCounters
    {
        public long Count;
        public long InputNs;
        public long InferNs;
        public long OutputNs;
    }
}

/// <summary>Triton's StatisticDuration: how many and how long in total (ns).</summary>
/// <param name="Count">Number of events.</param>
/// <param name="Ns">Their total duration in nanoseconds.</param>
public readonly record struct DurationStat(long Count, long Ns);

/// <summary>Triton's InferBatchStatistics for one batch size.</summary>
/// <param name="BatchSize">The batch size these figures are for.</param>
/// <param name="ComputeInput">Time preparing inputs of batches of this size.</param>
/// <param name="ComputeInfer">Time executing the model.</param>
/// <param name="ComputeOutput">Time extracting outputs.</param>
public sealed record BatchStat(int BatchSize, DurationStat ComputeInput, DurationStat ComputeInfer, DurationStat ComputeOutput);

/// <summary>A consistent-enough copy of <see cref="InferenceStatistics"/> (Triton's InferStatistics + counters).</summary>
/// <param name="Success">Successful requests and their total end-to-end time.</param>
/// <param name="Fail">Failed requests and their total time.</param>
/// <param name="Queue">Time requests waited in the queue.</param>
/// <param name="ComputeInput">Time preparing inputs, per request.</param>
/// <param name="ComputeInfer">Time executing the model, per request.</param>
/// <param name="ComputeOutput">Time extracting outputs, per request.</param>
/// <param name="InferenceCount">Inferences performed (items, not requests: a batch of 8 counts 8).</param>
/// <param name="ExecutionCount">Model executions (batches).</param>
/// <param name="LastInferenceUnixMs">When the last inference ran, in Unix milliseconds; 0 if never.</param>
/// <param name="PendingRequests">Requests waiting in the queue at the time of the snapshot.</param>
/// <param name="BatchStats">Execution times per batch size.</param>
public sealed record InferenceStatisticsSnapshot(
    DurationStat Success,
    DurationStat Fail,
    DurationStat Queue,
    DurationStat ComputeInput,
    DurationStat ComputeInfer,
    DurationStat ComputeOutput,
    long InferenceCount,
    long ExecutionCount,
    long LastInferenceUnixMs,
    long PendingRequests,
    IReadOnlyList<BatchStat> BatchStats);
