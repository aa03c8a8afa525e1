using System.Collections.Concurrent;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.Scheduling;

public class DynamicBatcherTests
{
    [Fact]
    public async Task ConcurrentRequestsAreBatchedAndEachGetsItsOwnResults()
    {
        await using var backend = new RecordingBackend(maxBatch: 8, delay: TimeSpan.FromMilliseconds(30));
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(20) });
        var tasks = Enumerable.Range(0, 20).Select(async i =>
        {
            var items = (i % 3) + 1;
            using var inputs = RecordingBackend.Request(Enumerable.Range(0, items).Select(k => (float)((i * 10) + k)).ToArray());
            using var outputs = await batcher.InferAsync(inputs);
            return (i, items, values: outputs["y"].ToArray<float>());
        }).ToList();
        foreach (var (i, items, values) in await Task.WhenAll(tasks))
        {
            Assert.Equal(Enumerable.Range(0, items).Select(k => 2f * ((i * 10) + k)), values);
        }
        Assert.Contains(backend.BatchSizes, b => b > 3); // requests were combined
        Assert.All(backend.BatchSizes, b => Assert.InRange(b, 1, 8));
        var stats = batcher.Statistics.Snapshot();
        Assert.Equal(20, stats.Success.Count);
        Assert.Equal(39, stats.InferenceCount); // 20 requests of 1..3 items: 7×1 + 7×2 + 6×3
        Assert.Equal(backend.BatchSizes.Count, stats.ExecutionCount);
        Assert.Equal(20, stats.Queue.Count);
        Assert.True(stats.ComputeInfer.Ns > 0);
        Assert.Equal(0, stats.PendingRequests);
        Assert.Equal(stats.ExecutionCount, stats.BatchStats.Sum(b => b.ComputeInfer.Count));
    }

    [Fact]
    public async Task PartialBatchWaitsForMaxQueueDelayThenRuns()
    {
        await using var backend = new RecordingBackend(maxBatch: 8, delay: TimeSpan.Zero);
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(150) });
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var a = RecordingBackend.Request(1);
        using var b = RecordingBackend.Request(2);
        var ta = batcher.InferAsync(a);
        var tb = batcher.InferAsync(b);
        using var ra = await ta;
        using var rb = await tb;
        Assert.InRange(started.ElapsedMilliseconds, 120, 2000);
        Assert.Equal([2], backend.BatchSizes);
    }

    [Fact]
    public async Task FullOrPreferredBatchGoesWithoutWaiting()
    {
        await using var backend = new RecordingBackend(maxBatch: 4, delay: TimeSpan.Zero);
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueDelay = TimeSpan.FromSeconds(30), PreferredBatchSizes = [2] });
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var full = RecordingBackend.Request(1, 2, 3, 4);
        (await batcher.InferAsync(full)).Dispose();
        using var pair = RecordingBackend.Request(5, 6);
        (await batcher.InferAsync(pair)).Dispose();
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal([4, 2], backend.BatchSizes);
    }

    [Fact]
    public async Task FullQueueRejectsAsUnavailable()
    {
        var gate = new TaskCompletionSource();
        await using var backend = new RecordingBackend(maxBatch: 1, delay: TimeSpan.Zero, gate: gate.Task);
        var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueSize = 2 });
        var inputs = Enumerable.Range(0, 4).Select(i => RecordingBackend.Request(i)).ToArray();
        var first = batcher.InferAsync(inputs[0]); // taken by the only instance, which blocks on the gate
        await WaitUntil(() => backend.Started == 1);
        var queued = new[] { batcher.InferAsync(inputs[1]), batcher.InferAsync(inputs[2]) };
        var ex = await Assert.ThrowsAsync<InferenceUnavailableException>(() => batcher.InferAsync(inputs[3]));
        Assert.Contains("Exceeds maximum queue size", ex.Message);
        Assert.Equal(2, batcher.Statistics.PendingRequests);
        gate.SetResult();
        foreach (var t in queued.Prepend(first))
        {
            (await t).Dispose();
        }
        await batcher.DisposeAsync();
        Assert.Equal(1, batcher.Statistics.Snapshot().Fail.Count);
        Assert.Equal(3, batcher.Statistics.Snapshot().Success.Count);
        foreach (var i in inputs)
        {
            i.Dispose();
        }
    }

    [Fact]
    public async Task BackendFailureFailsEveryRequestInTheBatchAndIsCounted()
    {
        await using var backend = new RecordingBackend(maxBatch: 4, delay: TimeSpan.Zero, fail: true);
        await using var batcher = new DynamicBatcher(backend);
        using var inputs = RecordingBackend.Request(1);
        await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.InferAsync(inputs));
        Assert.Equal(1, batcher.Statistics.Snapshot().Fail.Count);
        using var tooBig = RecordingBackend.Request(1, 2, 3, 4, 5);
        await Assert.ThrowsAsync<InferenceRequestException>(() => batcher.InferAsync(tooBig));
    }

    [Fact]
    public async Task WithoutDynamicBatchingEachRequestRunsAlone()
    {
        await using var backend = new RecordingBackend(maxBatch: 8, delay: TimeSpan.FromMilliseconds(5));
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { Enabled = false });
        var inputs = Enumerable.Range(0, 5).Select(i => RecordingBackend.Request(i, i)).ToArray();
        foreach (var r in await Task.WhenAll(inputs.Select(i => batcher.InferAsync(i))))
        {
            r.Dispose();
        }
        Assert.All(backend.BatchSizes, b => Assert.Equal(2, b));
        foreach (var i in inputs)
        {
            i.Dispose();
        }
    }

    [Fact]
    public async Task CancelledQueuedRequestIsRemoved()
    {
        var gate = new TaskCompletionSource();
        await using var backend = new RecordingBackend(maxBatch: 1, delay: TimeSpan.Zero, gate: gate.Task);
        await using var batcher = new DynamicBatcher(backend);
        using var a = RecordingBackend.Request(1);
        using var b = RecordingBackend.Request(2);
        var first = batcher.InferAsync(a);
        await WaitUntil(() => backend.Started == 1);
        using var cts = new CancellationTokenSource();
        var second = batcher.InferAsync(b, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(0, batcher.Statistics.PendingRequests);
        gate.SetResult();
        (await first).Dispose();
        Assert.Equal([1], backend.BatchSizes);
    }

    [Fact]
    public async Task BatchesReuseFullSizePooledBuffersAndRequestsGetViewsOfTheOutputs()
    {
        await using var backend = new WideBackend();
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(50) });

        // A request that fills a batch runs on its own buffer: no copy in.
        using (var full = WideBackend.Request(0, WideBackend.MaxBatch))
        using (var outputs = await batcher.InferAsync(full))
        {
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(full["x"].Memory, out var own));
            Assert.Same(own.Array, backend.LastInputArray);
            Assert.Equal(WideBackend.Expected(0, WideBackend.MaxBatch), outputs["y"].ToArray<float>());
        }

        // Joined requests of several batch sizes: each gets views of one shared output (no copy out), and the batch
        // input buffers come from the batcher's pool, sized for a full batch, so a few serve every batch size.
        for (var round = 0; round < 6; round++)
        {
            var sizes = new[] { 1, 2, 1 + (round % 3) };
            var inputs = sizes.Select((n, i) => WideBackend.Request((round * 100) + (i * 10), n)).ToArray();
            var results = await Task.WhenAll(inputs.Select(x => batcher.InferAsync(x)));
            var arrays = results.Select(r => System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(r["y"].Memory, out var seg) ? seg.Array : null).ToArray();
            if (backend.LastBatch == sizes.Sum())
            {
                Assert.All(arrays, a => Assert.Same(arrays[0], a));
            }
            for (var i = 0; i < sizes.Length; i++)
            {
                Assert.Equal(WideBackend.Expected((round * 100) + (i * 10), sizes[i]), results[i]["y"].ToArray<float>());
            }
            foreach (var r in results.Concat(inputs))
            {
                r.Dispose();
            }
        }
        Assert.Contains(backend.Batches, b => b > 2); // requests were joined
        Assert.InRange(batcher.BatchBuffers.AllocatedBuffers, 1, 2); // one full-batch buffer per running batch + 1
    }

    /// <summary>y = (first, last) of each row of x [N, 20000] FP32 (80 KB a row: batches use the large-buffer pool).</summary>
    private sealed class WideBackend : IInferenceBackend
    {
        public const int MaxBatch = 8;
        private const int Width = 20000;

        public ConcurrentQueue<int> BatchQueue { get; } = new();

        public List<int> Batches => [.. BatchQueue];

        public int LastBatch { get; private set; }

        public byte[]? LastInputArray { get; private set; }

        public BackendMetadata Metadata { get; } = new("wide", "1", "test", MaxBatch, [new TensorSpec("x", TensorDataType.Fp32, [-1, Width])], [new TensorSpec("y", TensorDataType.Fp32, [-1, 2])]);

        public int InstanceCount => 1;

        public static TensorSet Request(int seed, int items)
        {
            var values = new float[items * Width];
            for (var i = 0; i < items; i++)
            {
                values[i * Width] = seed + i;
                values[((i + 1) * Width) - 1] = -(seed + i);
            }
            return new TensorSet().Add("x", Tensor.FromValues<float>(TensorDataType.Fp32, values, items, Width));
        }

        public static float[] Expected(int seed, int items) => [.. Enumerable.Range(0, items).SelectMany(i => new float[] { seed + i, -(seed + i) })];

        public ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
        {
            var x = inputs["x"];
            BatchQueue.Enqueue(x.BatchSize);
            LastBatch = x.BatchSize;
            LastInputArray = System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(x.Memory, out var seg) ? seg.Array : null;
            var y = Tensor.Rent(TensorDataType.Fp32, [x.BatchSize, 2]);
            var xs = x.AsSpan<float>();
            var ys = y.AsSpan<float>();
            for (var i = 0; i < x.BatchSize; i++)
            {
                ys[2 * i] = xs[i * Width];
                ys[(2 * i) + 1] = xs[((i + 1) * Width) - 1];
            }
            return ValueTask.FromResult(new TensorSet().Add("y", y));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task OutputsTooShortToSliceFailTheBatchAndGoBackToThePool()
    {
        await using var backend = new ShortOutputBackend();
        await using var batcher = new DynamicBatcher(backend, new BatcherOptions { MaxQueueDelay = TimeSpan.FromSeconds(30) });
        using var a = new TensorSet().Add("x", Tensor.FromValues<float>(TensorDataType.Fp32, [1f], 1, 1));
        using var b = new TensorSet().Add("x", Tensor.FromValues<float>(TensorDataType.Fp32, [2f], 1, 1));
        var ta = batcher.InferAsync(a);
        var tb = batcher.InferAsync(b);
        // The second request's slice is out of range: both fail, and the batch's output is freed, not leaked.
        await Assert.ThrowsAnyAsync<Exception>(async () => (await ta).Dispose());
        await Assert.ThrowsAnyAsync<Exception>(async () => (await tb).Dispose());
        Assert.Equal([2], backend.BatchSizes);
        Assert.Throws<ObjectDisposedException>(() => backend.LastOutput!.Memory);
    }

    /// <summary>A backend answering a batch of N with one item only (a broken model), keeping its output to inspect.</summary>
    private sealed class ShortOutputBackend : IInferenceBackend
    {
        public ConcurrentQueue<int> BatchSizesQueue { get; } = new();

        public List<int> BatchSizes => [.. BatchSizesQueue];

        public Tensor? LastOutput { get; private set; }

        public BackendMetadata Metadata { get; } = new("short", "1", "test", 2, [new TensorSpec("x", TensorDataType.Fp32, [-1, 1])], [new TensorSpec("y", TensorDataType.Fp32, [-1, 1])]);

        public int InstanceCount => 1;

        public ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
        {
            BatchSizesQueue.Enqueue(inputs["x"].BatchSize);
            LastOutput = Tensor.Rent(TensorDataType.Fp32, [1, 1]);
            return ValueTask.FromResult(new TensorSet().Add("y", LastOutput));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }

    /// <summary>A backend computing y = 2x on [N,1] FP32 that records the batch sizes it is given.</summary>
    private sealed class RecordingBackend(int maxBatch, TimeSpan delay, Task? gate = null, bool fail = false) : IInferenceBackend
    {
        private int _started;

        public ConcurrentQueue<int> BatchSizesQueue { get; } = new();

        public List<int> BatchSizes => [.. BatchSizesQueue];

        public int Started => Volatile.Read(ref _started);

        public BackendMetadata Metadata { get; } = new("double", "1", "test", maxBatch, [new TensorSpec("x", TensorDataType.Fp32, [-1, 1])], [new TensorSpec("y", TensorDataType.Fp32, [-1, 1])]);

        public int InstanceCount => 1;

        public static TensorSet Request(params float[] values) =>
            new TensorSet().Add("x", Tensor.FromValues<float>(TensorDataType.Fp32, values, values.Length, 1));

        public async ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _started);
            var x = inputs["x"];
            BatchSizesQueue.Enqueue(x.BatchSize);
            if (gate is not null)
            {
                await gate;
            }
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }
            if (fail)
            {
                throw new InvalidOperationException("backend failed");
            }
            var y = Tensor.Rent(TensorDataType.Fp32, x.Shape);
            var xs = x.AsSpan<float>();
            var ys = y.AsSpan<float>();
            for (var i = 0; i < xs.Length; i++)
            {
                ys[i] = 2 * xs[i];
            }
            return new TensorSet().Add("y", y);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
