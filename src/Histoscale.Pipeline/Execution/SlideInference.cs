using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Preprocessing;
using Histoscale.Pipeline.Reading;

namespace Histoscale.Pipeline.Execution;

/// <summary>
/// Runs a plan's remaining tiles through the model and appends their outputs to the checkpoint, in plan order.
/// <code>
/// read+decode+pack (N threads) ─► batch ring (bounded) ─► channel ─► infer (instances + 1 in flight, DynamicBatcher)
///                                                                   ─► bounded channel ─► reorder + checkpoint append
/// </code>
/// Workers decode a tile, then pack it straight into its slot of the batch tensor; a full batch goes to the
/// inference stage, which releases the buffer as soon as the outputs are copied out. Batches cover fixed ranges of
/// the plan ([k·B, (k+1)·B)), so a resumed run feeds the model exactly the batches an uninterrupted one would.
/// With stain normalisation, each tile's pixels are mapped onto the target in the worker's own tile buffer (or, for
/// UINT8 NCHW, in the tensor's planes) right before packing: no extra buffer, no allocation per tile.
/// </summary>
internal sealed class SlideInference
{
    private readonly PlanTileReader _reader;
    private readonly TilePlan _plan;
    private readonly ModelIo _io;
    private readonly TensorPacker _packer;
    private readonly DynamicBatcher _batcher;
    private readonly ResultsFile _results;
    private readonly PipelineOptions _options;
    private readonly StageTimings _timings;
    private readonly Action<int> _onTilesWritten;
    private readonly Action? _onReadingDone;
    private readonly int _batch;
    private readonly int _start;
    private readonly int _end;
    private readonly int _base;
    private int _next;
    private readonly PlanPrefetcher _prefetcher;
    private readonly ConcurrentDictionary<int, string> _unreadable = new();
    private readonly Stain.StainNormalizer? _stain;
    private readonly byte[]? _exclusions;

    public SlideInference(PlanTileReader reader, TilePlan plan, ModelIo io, TensorPacker packer, DynamicBatcher batcher, ResultsFile results,
        PipelineOptions options, StageTimings timings, Stain.StainNormalizer? stain, byte[]? exclusions, Action<int> onTilesWritten, Action? onReadingDone = null)
    {
        _stain = stain;
        _exclusions = exclusions;
        _onReadingDone = onReadingDone;
        _reader = reader;
        _plan = plan;
        _io = io;
        _packer = packer;
        _batcher = batcher;
        _results = results;
        _options = options;
        _timings = timings;
        _onTilesWritten = onTilesWritten;
        _batch = Math.Min(options.BatchSize, batcher.MaxBatchSize);
        _start = results.TilesDone;
        _end = plan.Tiles.Count;
        _base = _start - (_start % _batch);
        _next = _start;
        _prefetcher = new PlanPrefetcher(reader, plan, exclusions);
    }

    /// <summary>
    /// Plan tiles of this run that could not be read (corrupt or truncated data: a <see cref="Slides.SlideException"/>),
    /// with the cause. They still take their place in a batch (as a blank tile, so batches stay those of an
    /// uninterrupted run), and their outputs are checkpointed as <see cref="ResultsFile.Unreadable"/>.
    /// </summary>
    public IReadOnlyDictionary<int, string> Unreadable => _unreadable;

    /// <summary>Runs until every tile is checkpointed; on cancellation or failure, checkpoints what finished and throws.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_start >= _end)
        {
            return;
        }
        var batches = SequenceOf(_end - 1) + 1;
        var inFlight = _batcher.Backend.InstanceCount + 1; // one queued behind each running batch: no idle gap between batches
        var slotBytes = (long)_batch * _packer.ItemBytes;
        var ringSize = Math.Min(batches, Math.Max(2, Math.Min(inFlight + _options.PrefetchBatches, (int)(_options.MaxBatchBufferBytes / Math.Max(1, slotBytes)))));
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        Exception? firstError = null;
        void Fail(Exception ex)
        {
            if (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref firstError, ex, null);
            }
            failure.Cancel();
        }

        using var ring = new BatchRing(ringSize, () => Tensor.Rent(_packer.DataType, _io.InputShape(_batch)), BatchRange);
        var ready = Channel.CreateBounded<BatchSlot>(new BoundedChannelOptions(ringSize) { SingleReader = false });
        var done = Channel.CreateBounded<(int Sequence, int Count, float[] Values)>(new BoundedChannelOptions(ringSize) { SingleWriter = false, SingleReader = true });

        var workers = StartWorkers(ring, ready.Writer, Fail, token);
        var consumers = Enumerable.Range(0, inFlight).Select(_ => Task.Run(() => InferLoopAsync(ring, ready.Reader, done.Writer, Fail, token))).ToArray();
        var writer = Task.Run(() => WriteLoopAsync(done.Reader, Fail));

        await workers.ConfigureAwait(false);
        ready.Writer.TryComplete();
        // Every tile is read (or the run failed): what follows only waits for the model.
        _onReadingDone?.Invoke();
        await Task.WhenAll(consumers).ConfigureAwait(false);
        done.Writer.TryComplete();
        await writer.ConfigureAwait(false);
        var sw = Stopwatch.GetTimestamp();
        _results.Flush();
        _timings.AddCheckpoint(Stopwatch.GetTimestamp() - sw);

        if (firstError is not null)
        {
            throw firstError is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : firstError;
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (_results.TilesDone != _end)
        {
            throw new InvalidOperationException($"pipeline ended with {_results.TilesDone} of {_end} tiles checkpointed");
        }
    }

    private int SequenceOf(int tile) => (tile - _base) / _batch;

    private (int First, int Count) BatchRange(int sequence)
    {
        var first = Math.Max(_start, _base + (sequence * _batch));
        var end = Math.Min(_end, _base + ((sequence + 1) * _batch));
        return (first, Math.Max(0, end - first));
    }

    private Task StartWorkers(BatchRing ring, ChannelWriter<BatchSlot> ready, Action<Exception> fail, CancellationToken token)
    {
        var count = Math.Min(_options.EffectiveReadWorkers, _end - _start);
        var remaining = count;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var w = 0; w < count; w++)
        {
            // Dedicated threads: decoding is synchronous and the ring wait blocks, neither belongs on the thread pool.
            new Thread(() =>
            {
                try
                {
                    ReadLoop(ring, ready, token);
                }
                catch (Exception ex)
                {
                    fail(ex);
                }
                finally
                {
                    if (Interlocked.Decrement(ref remaining) == 0)
                    {
                        all.SetResult();
                    }
                }
            })
            { IsBackground = true, Name = $"histoscale-read-{w}" }.Start();
        }
        return all.Task;
    }

    private void ReadLoop(BatchRing ring, ChannelWriter<BatchSlot> ready, CancellationToken token)
    {
        var rgba = ArrayPool<byte>.Shared.Rent(_reader.TileBytes);
        // Plans at a level's own scale skip the RGBA image for NCHW models: UINT8 tensors are filled in place, FP32
        // ones from three byte planes. Tiles the planar path declines (edges, blanks, unusual streams) take the RGBA path.
        var planar = _reader.CanReadPlanar && _packer.TakesPlanes;
        var planes = planar && !_packer.PlanesAreTensor ? ArrayPool<byte>.Shared.Rent(3 * (_reader.TileBytes / 4)) : null;
        using var scratch = new PlanTileReader.Scratch();
        try
        {
            while (!token.IsCancellationRequested)
            {
                var index = Interlocked.Increment(ref _next) - 1;
                if (index >= _end)
                {
                    return;
                }
                _prefetcher.OnClaim(index, _start, _end);
                var tile = _plan.Tiles[index];
                var sequence = SequenceOf(index);
                BatchSlot? slot = null;
                if (_exclusions is not null && _exclusions[index] != 0)
                {
                    // Left out by quality control: not read; a blank keeps the batch those of an uninterrupted run.
                    slot = ring.Acquire(sequence, token);
                    var blank = rgba.AsSpan(0, _reader.TileBytes);
                    blank.Clear();
                    _packer.Pack(blank, slot.Tensor.Bytes, index - slot.FirstTile);
                    if (Interlocked.Increment(ref slot.Filled) == slot.Count)
                    {
                        ready.TryWrite(slot);
                    }
                    continue;
                }
                try
                {
                    var filled = planar && (planes is null
                        ? FillInPlace(tile, index, sequence, ring, token, out slot)
                        : FillFromPlanes(tile, index, sequence, planes, ring, token, out slot));
                    if (!filled)
                    {
                        slot = FillFromRgba(tile, index, sequence, rgba, scratch, ring, slot, token);
                    }
                }
                catch (Slides.SlideException ex) when (ex.IsCorruptData)
                {
                    // One bad tile does not end the slide: it is reported, and the run decides whether too many are.
                    // Only corrupt data is a tile's verdict; a read that failed (store down after its retries) fails
                    // the slide, so the checkpoint never records it and a rerun reads the tile again.
                    _unreadable[index] = ex.Message;
                    slot ??= ring.Acquire(sequence, token);
                    var blank = rgba.AsSpan(0, _reader.TileBytes);
                    blank.Clear();
                    _packer.Pack(blank, slot.Tensor.Bytes, index - slot.FirstTile);
                }
                if (Interlocked.Increment(ref slot!.Filled) == slot.Count)
                {
                    // Cannot fail: the channel holds as many batches as the ring has slots.
                    ready.TryWrite(slot);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
            if (planes is not null)
            {
                ArrayPool<byte>.Shared.Return(planes);
            }
        }
    }

    /// <summary>UINT8 NCHW: decodes the tile straight into its slot's planes. The slot is acquired either way (a decline falls back into it).</summary>
    private bool FillInPlace(PlannedTile tile, int index, int sequence, BatchRing ring, CancellationToken token, out BatchSlot slot)
    {
        var t0 = Stopwatch.GetTimestamp();
        slot = ring.Acquire(sequence, token);
        var t1 = Stopwatch.GetTimestamp();
        _packer.SlotPlanes(slot.Tensor.Bytes, index - slot.FirstTile, out var red, out var green, out var blue);
        var read = _reader.TryReadPlanar(tile, red, green, blue);
        var t2 = Stopwatch.GetTimestamp();
        _timings.AddWaitForBuffer(t1 - t0);
        _timings.AddRead(t2 - t1);
        if (read && _stain is not null)
        {
            // The planes are the tensor: normalised where they lie.
            _stain.NormalizePlanes(red, green, blue);
            _timings.AddPreprocess(Stopwatch.GetTimestamp() - t2);
        }
        return read;
    }

    /// <summary>FP32 NCHW: decodes the tile to byte planes, then normalises them into its slot; no slot when declined.</summary>
    private bool FillFromPlanes(PlannedTile tile, int index, int sequence, byte[] planes, BatchRing ring, CancellationToken token, out BatchSlot? slot)
    {
        slot = null;
        var plane = _reader.TileBytes / 4;
        var p = planes.AsSpan(0, 3 * plane);
        var t0 = Stopwatch.GetTimestamp();
        if (!_reader.TryReadPlanar(tile, p[..plane], p.Slice(plane, plane), p[(2 * plane)..]))
        {
            return false;
        }
        var t1 = Stopwatch.GetTimestamp();
        slot = ring.Acquire(sequence, token);
        var t2 = Stopwatch.GetTimestamp();
        _stain?.NormalizePlanes(p[..plane], p.Slice(plane, plane), p[(2 * plane)..]);
        _packer.PackPlanes(p, slot.Tensor.Bytes, index - slot.FirstTile);
        _timings.AddRead(t1 - t0);
        _timings.AddWaitForBuffer(t2 - t1);
        _timings.AddPreprocess(Stopwatch.GetTimestamp() - t2);
        return true;
    }

    /// <summary>Every other tile: an RGBA read (edges transparent, resampled plans, other codecs), packed into the slot.</summary>
    private BatchSlot FillFromRgba(PlannedTile tile, int index, int sequence, byte[] rgba, PlanTileReader.Scratch scratch, BatchRing ring, BatchSlot? slot, CancellationToken token)
    {
        var t0 = Stopwatch.GetTimestamp();
        _reader.Read(tile, rgba.AsSpan(0, _reader.TileBytes), scratch);
        var t1 = Stopwatch.GetTimestamp();
        slot ??= ring.Acquire(sequence, token);
        var t2 = Stopwatch.GetTimestamp();
        _stain?.NormalizeRgba(rgba.AsSpan(0, _reader.TileBytes));
        _packer.Pack(rgba.AsSpan(0, _reader.TileBytes), slot.Tensor.Bytes, index - slot.FirstTile);
        _timings.AddRead(t1 - t0);
        _timings.AddWaitForBuffer(t2 - t1);
        _timings.AddPreprocess(Stopwatch.GetTimestamp() - t2);
        return slot;
    }

    private async Task InferLoopAsync(BatchRing ring, ChannelReader<BatchSlot> ready, ChannelWriter<(int, int, float[])> done, Action<Exception> fail, CancellationToken token)
    {
        try
        {
            await foreach (var slot in ready.ReadAllAsync(token).ConfigureAwait(false))
            {
                var count = slot.Count;
                var sequence = slot.Sequence;
                var values = ArrayPool<float>.Shared.Rent(count * _io.ValuesPerTile);
                var start = Stopwatch.GetTimestamp();
                using (var inputs = new TensorSet(1))
                {
                    var shape = _io.InputShape(count);
                    inputs.Add(_io.Model.ImageInput.Name, Tensor.Wrap(_packer.DataType, shape, slot.Tensor.Memory[..(count * _packer.ItemBytes)]));
                    using var outputs = await _batcher.InferAsync(inputs, token).ConfigureAwait(false);
                    _io.ReadOutputs(outputs, count, values.AsSpan(0, count * _io.ValuesPerTile));
                }
                _timings.AddInfer(Stopwatch.GetTimestamp() - start);
                ring.Release(slot);
                await done.WriteAsync((sequence, count, values), token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            fail(ex);
        }
    }

    /// <summary>Appends finished batches in plan order (they may finish out of order with several instances).</summary>
    private async Task WriteLoopAsync(ChannelReader<(int Sequence, int Count, float[] Values)> done, Action<Exception> fail)
    {
        var pending = new Dictionary<int, (int Count, float[] Values)>();
        var next = 0;
        var failed = false;
        // Reads until the channel completes, even after a failure, so that finished batches still reach the checkpoint.
        await foreach (var (sequence, count, values) in done.ReadAllAsync().ConfigureAwait(false))
        {
            pending[sequence] = (count, values);
            while (!failed && pending.Remove(next, out var item))
            {
                try
                {
                    var start = Stopwatch.GetTimestamp();
                    var first = BatchRange(next).First;
                    for (var i = 0; i < item.Count; i++)
                    {
                        if (_unreadable.ContainsKey(first + i))
                        {
                            item.Values.AsSpan(i * _io.ValuesPerTile, _io.ValuesPerTile).Fill(ResultsFile.Unreadable);
                        }
                        else if (_exclusions is not null && _exclusions[first + i] != 0)
                        {
                            item.Values.AsSpan(i * _io.ValuesPerTile, _io.ValuesPerTile).Fill(ResultsFile.Excluded);
                        }
                    }
                    _results.Append(item.Values.AsSpan(0, item.Count * _io.ValuesPerTile), item.Count);
                    _timings.AddCheckpoint(Stopwatch.GetTimestamp() - start);
                    next++;
                    _onTilesWritten(item.Count);
                }
                catch (Exception ex)
                {
                    failed = true;
                    fail(ex);
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(item.Values);
                }
            }
        }
        foreach (var (_, item) in pending)
        {
            ArrayPool<float>.Shared.Return(item.Values);
        }
    }
}
