using System.Diagnostics;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Scheduling;

/// <summary>
/// The one place requests become batches (Triton's dynamic batcher; the pipeline and the server both use it).
/// Requests of one or more items queue up; a dispatcher waits for a free backend instance, then forms a batch
/// of whole requests — at once when it reaches the max batch size or a preferred size, otherwise when the oldest
/// request has waited <see cref="BatcherOptions.MaxQueueDelay"/> — and executes it while forming the next.
/// Each request gets its own slice of the outputs. A full queue rejects with <see cref="InferenceUnavailableException"/>.
/// The batcher does not own the backend: dispose the backend after the batcher.
/// </summary>
public sealed class DynamicBatcher : IAsyncDisposable
{
    private readonly LinkedList<Request> _queue = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _arrivals = new(0);
    private readonly SemaphoreSlim _slots;
    private readonly HashSet<int> _preferred;
    private readonly int _maxBatch;
    private readonly int _concurrency;
    private readonly BatcherOptions _options;
    private readonly BoundedBufferPool _buffers;
    private readonly Task _dispatcher;
    private bool _draining;

    /// <summary>
    /// Starts dispatching to <paramref name="backend"/>. The batch limit is the model's max_batch_size (capped by
    /// <see cref="BatcherOptions.MaxBatchSize"/>; 1 for unbatched models), and as many batches run at once as the
    /// backend has instances unless <see cref="BatcherOptions.Concurrency"/> says otherwise.
    /// </summary>
    /// <param name="backend">The backend to execute on; not owned.</param>
    /// <param name="options">Batching options; defaults when null.</param>
    /// <param name="statistics">Where to record queue and execution times; a new instance when null.</param>
    public DynamicBatcher(IInferenceBackend backend, BatcherOptions? options = null, InferenceStatistics? statistics = null)
    {
        Backend = backend;
        _options = options ?? new BatcherOptions();
        Statistics = statistics ?? new InferenceStatistics();
        var metadata = backend.Metadata;
        _maxBatch = !metadata.IsBatched ? 1 : Math.Clamp(_options.MaxBatchSize ?? metadata.MaxBatchSize, 1, metadata.MaxBatchSize);
        _preferred = [.. _options.PreferredBatchSizes.Where(p => p <= _maxBatch)];
        _concurrency = Math.Max(1, _options.Concurrency ?? backend.InstanceCount);
        _slots = new SemaphoreSlim(_concurrency, _concurrency);
        // Batch input buffers: as many full-batch buffers as batches run at once, plus one being formed.
        _buffers = new BoundedBufferPool(BatchBytes(metadata, _maxBatch) * (_concurrency + 1));
        _dispatcher = Task.Run(DispatchLoopAsync);
    }

    /// <summary>The backend batches run on (not owned by the batcher).</summary>
    public IInferenceBackend Backend { get; }

    /// <summary>Request, queue and execution statistics recorded by this batcher.</summary>
    public InferenceStatistics Statistics { get; }

    /// <summary>The largest batch this batcher forms.</summary>
    public int MaxBatchSize => _maxBatch;

    /// <summary>The pool the joined batch tensors come from (bounded: see the constructor).</summary>
    internal BoundedBufferPool BatchBuffers => _buffers;

    /// <summary>Bytes of one full batch of fixed-size inputs (64 MiB when a dimension is variable).</summary>
    private static long BatchBytes(BackendMetadata metadata, int maxBatch)
    {
        long total = 0;
        foreach (var spec in metadata.Inputs)
        {
            var size = spec.DataType.ElementSize();
            long items = 1;
            for (var d = metadata.IsBatched ? 1 : 0; d < spec.Shape.Length; d++)
            {
                if (spec.Shape[d] < 0)
                {
                    return 64L << 20; // variable shapes: keep up to 64 MiB of batch buffers
                }
                items *= spec.Shape[d];
            }
            total += BoundedBufferPool.SizeClass((int)Math.Min(256L << 20, items * size * maxBatch));
        }
        return total;
    }

    /// <summary>
    /// Queues a request (dimension 0 = its item count for batched models) and completes with its own outputs,
    /// which the caller owns and disposes. <paramref name="inputs"/> stays owned by the caller and must stay
    /// alive until the task completes. Cancelling removes a still-queued request.
    /// </summary>
    public Task<TensorSet> InferAsync(TensorSet inputs, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        int items;
        try
        {
            items = InputValidator.Validate(Backend.Metadata, inputs);
            if (items > _maxBatch)
            {
                throw new InferenceRequestException($"request of {items} items exceeds the batcher's max batch size {_maxBatch} for model '{Backend.Metadata.Name}'");
            }
        }
        catch (InferenceRequestException ex)
        {
            Statistics.RecordFailure(Stopwatch.GetTimestamp() - start);
            return Task.FromException<TensorSet>(ex);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TensorSet>(cancellationToken);
        }
        var request = new Request(inputs, items, start);
        lock (_lock)
        {
            if (_draining)
            {
                Statistics.RecordFailure(0);
                return Task.FromException<TensorSet>(new InferenceUnavailableException($"model '{Backend.Metadata.Name}' is shutting down"));
            }
            if (_options.MaxQueueSize > 0 && _queue.Count >= _options.MaxQueueSize)
            {
                Statistics.RecordFailure(0);
                return Task.FromException<TensorSet>(new InferenceUnavailableException($"Exceeds maximum queue size ({_options.MaxQueueSize}) of model '{Backend.Metadata.Name}'"));
            }
            request.Node = _queue.AddLast(request);
            Statistics.Enqueued();
        }
        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.Register(() => Cancel(request, cancellationToken));
        }
        _arrivals.Release();
        return request.Completion.Task;
    }

    /// <summary>Stops accepting requests, lets queued and running ones finish, and stops the dispatcher.</summary>
    public async Task DrainAsync()
    {
        lock (_lock)
        {
            _draining = true;
        }
        _arrivals.Release();
        await _dispatcher.ConfigureAwait(false);
        for (var i = 0; i < _concurrency; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }
        _slots.Release(_concurrency);
    }

    /// <summary>Stops accepting requests, runs what is queued and waits for running batches (same as <see cref="DrainAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await DrainAsync().ConfigureAwait(false);

    private void Cancel(Request request, CancellationToken token)
    {
        lock (_lock)
        {
            if (request.Node is null)
            {
                return; // already taken into a batch; its result will be discarded
            }
            _queue.Remove(request.Node);
            request.Node = null;
            Statistics.Dequeued();
        }
        request.Completion.TrySetCanceled(token);
    }

    private async Task DispatchLoopAsync()
    {
        while (true)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            var batch = await NextBatchAsync().ConfigureAwait(false);
            if (batch is null)
            {
                _slots.Release();
                return;
            }
            // Execution blocks a thread while the backend computes, so it runs off the dispatcher.
            _ = Task.Run(() => ExecuteAsync(batch));
        }
    }

    /// <summary>Waits until a batch should go; null when draining and nothing is left.</summary>
    private async Task<List<Request>?> NextBatchAsync()
    {
        while (true)
        {
            var wait = Timeout.InfiniteTimeSpan;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    if (_draining)
                    {
                        return null;
                    }
                }
                else if (TryForm(ref wait) is { } batch)
                {
                    return batch;
                }
            }
            await _arrivals.WaitAsync(wait).ConfigureAwait(false);
        }
    }

    /// <summary>Called under the lock with a non-empty queue: the batch to dispatch now, or how long to wait.</summary>
    private List<Request>? TryForm(ref TimeSpan wait)
    {
        var first = _queue.First!.Value;
        var take = 0;
        var items = 0;
        var preferredTake = 0;
        var blocked = false;
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            var r = node.Value;
            if (!_options.Enabled && take == 1)
            {
                blocked = true;
                break;
            }
            if (items + r.Items > _maxBatch || (take > 0 && !BatchAssembler.SameItemShapes(first.Inputs, r.Inputs)))
            {
                blocked = true; // the next request cannot join this batch, so waiting cannot make it bigger
                break;
            }
            take++;
            items += r.Items;
            if (_preferred.Contains(items))
            {
                preferredTake = take;
            }
        }
        var dispatch = !_options.Enabled || blocked || items >= _maxBatch || _draining;
        if (!dispatch && preferredTake > 0)
        {
            take = preferredTake;
            dispatch = true;
        }
        if (!dispatch)
        {
            var waited = Stopwatch.GetElapsedTime(first.EnqueuedTimestamp);
            if (waited >= _options.MaxQueueDelay)
            {
                dispatch = true;
            }
            else
            {
                wait = _options.MaxQueueDelay - waited;
                return null;
            }
        }
        var batch = new List<Request>(take);
        for (var i = 0; i < take; i++)
        {
            var r = _queue.First!.Value;
            _queue.RemoveFirst();
            r.Node = null;
            Statistics.Dequeued();
            batch.Add(r);
        }
        return batch;
    }

    private async Task ExecuteAsync(List<Request> batch)
    {
        var dispatched = Stopwatch.GetTimestamp();
        TensorSet? joined = null;
        TensorSet? outputs = null;
        try
        {
            var items = 0;
            foreach (var r in batch)
            {
                r.Registration.Dispose();
                items += r.Items;
            }
            // A single request is its own batch: no copy in, no copy out.
            var inputs = batch.Count == 1 ? batch[0].Inputs : joined = BatchAssembler.Concatenate(batch.ConvertAll(r => r.Inputs), items, _buffers, _maxBatch);
            var inputDone = Stopwatch.GetTimestamp();
            outputs = await Backend.ExecuteAsync(inputs).ConfigureAwait(false);
            var inferDone = Stopwatch.GetTimestamp();
            var results = new TensorSet[batch.Count];
            if (batch.Count == 1)
            {
                results[0] = outputs;
                outputs = null;
            }
            else
            {
                // Each request gets views of the batch's outputs; the last one disposed frees them.
                var shared = new SharedTensors(outputs);
                outputs = null;
                var offset = 0;
                var made = 0;
                try
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        results[i] = BatchAssembler.Slice(shared, offset, batch[i].Items);
                        made++;
                        offset += batch[i].Items;
                    }
                }
                catch
                {
                    // The requests get the error: views already made must not keep the batch's outputs from the pool.
                    for (var i = 0; i < made; i++)
                    {
                        results[i].Dispose();
                    }
                    throw;
                }
                finally
                {
                    shared.Release();
                }
            }
            var outputDone = Stopwatch.GetTimestamp();
            Statistics.RecordExecution(items, inputDone - dispatched, inferDone - inputDone, outputDone - inferDone);
            for (var i = 0; i < batch.Count; i++)
            {
                var r = batch[i];
                Statistics.RecordSuccess(outputDone - r.EnqueuedTimestamp, dispatched - r.EnqueuedTimestamp, inputDone - dispatched, inferDone - inputDone, outputDone - inferDone);
                if (!r.Completion.TrySetResult(results[i]))
                {
                    results[i].Dispose(); // the caller cancelled while the batch ran
                }
            }
        }
        catch (Exception ex)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var r in batch)
            {
                Statistics.RecordFailure(now - r.EnqueuedTimestamp);
                r.Completion.TrySetException(ex);
            }
        }
        finally
        {
            joined?.Dispose();
            outputs?.Dispose();
            _slots.Release();
        }
    }

    private sealed class Request(TensorSet inputs, int items, long enqueuedTimestamp)
    {
        public TensorSet Inputs { get; } = inputs;

        public int Items { get; } = items;

        public long EnqueuedTimestamp { get; } = enqueuedTimestamp;

        public TaskCompletionSource<TensorSet> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Request>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }
}
