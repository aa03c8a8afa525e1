using Histoscale.Slides.Sources;

namespace Histoscale.Storage.Strategies;

/// <summary>
/// Hint-driven prefetch. Hints queue up; one background loop turns them into requests for the blocks not yet
/// cached or in flight, coalesced with their neighbours, and starts them within the concurrency limit. A window
/// of prefetched-but-unread blocks bounds how far it runs ahead, so hinting a whole slide never floods the cache
/// and evicts what the reader is about to use.
/// </summary>
public sealed partial class StorageSource
{
    private readonly Queue<ByteRange> _hints = new();
    private readonly Lock _hintGate = new();
    private readonly SemaphoreSlim? _windowSlots;
    private bool _prefetching;

    /// <summary>Whether hints are acted on (the strategy enables prefetch and there is a block cache to land in).</summary>
    public bool PrefetchEnabled => _strategy.Prefetch && _cache is not null;

    /// <summary>
    /// Queues <paramref name="ranges"/> for background fetching; returns at once. Ignored when
    /// <see cref="PrefetchEnabled"/> is false or the source is disposed. Thread-safe.
    /// </summary>
    public void Prefetch(IReadOnlyList<ByteRange> ranges)
    {
        if (!PrefetchEnabled || ranges.Count == 0 || _disposed.IsCancellationRequested)
        {
            return;
        }
        lock (_hintGate)
        {
            foreach (var r in ranges)
            {
                _hints.Enqueue(r);
            }
            if (_prefetching)
            {
                return;
            }
            _prefetching = true;
        }
        _ = Task.Run(PrefetchLoopAsync);
    }

    private async Task PrefetchLoopAsync()
    {
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                var batch = TakeHints();
                if (batch.Count == 0)
                {
                    return;
                }
                foreach (var run in PlanRuns(batch))
                {
                    var first = run.Offset / _blockSize;
                    var last = (run.End - 1) / _blockSize;
                    // Wait for room in the window: one slot per block, given back when the reader uses it (or it is evicted).
                    for (var b = first; b <= last; b++)
                    {
                        await _windowSlots!.WaitAsync(_disposed.Token).ConfigureAwait(false);
                    }
                    StartRun(first, last, prefetch: true);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
        finally
        {
            lock (_hintGate)
            {
                _prefetching = false;
            }
            // A hint queued between the last TakeHints and clearing the flag would otherwise wait for the next call.
            bool more;
            lock (_hintGate)
            {
                more = _hints.Count > 0 && !_disposed.IsCancellationRequested;
                _prefetching |= more;
            }
            if (more)
            {
                _ = Task.Run(PrefetchLoopAsync);
            }
        }
    }

    /// <summary>Takes the queued hints, at most a window's worth, so coalescing sees neighbours but stays responsive.</summary>
    private List<ByteRange> TakeHints()
    {
        var batch = new List<ByteRange>();
        long bytes = 0;
        lock (_hintGate)
        {
            while (_hints.Count > 0 && bytes < _strategy.EffectivePrefetchWindow)
            {
                var r = _hints.Dequeue();
                batch.Add(r);
                bytes += r.Length;
            }
        }
        return batch;
    }

    /// <summary>
    /// Hints → block-aligned requests for what is missing. With coalescing, neighbouring hints' blocks merge up to
    /// the gap and size limits; without it (gap &lt; 0), each hint is its own request.
    /// </summary>
    private List<ByteRange> PlanRuns(List<ByteRange> hints)
    {
        var missing = new List<ByteRange>();
        var planned = new HashSet<long>();
        foreach (var h in hints)
        {
            var end = Math.Min(h.End, Length);
            if (h.Offset < 0 || h.Offset >= end || h.End <= _head.Length)
            {
                continue;
            }
            // Runs of missing blocks inside this hint; a hint's blocks are never merged with another's here.
            long runStart = -1, runEnd = -1;
            for (var b = h.Offset / _blockSize; b <= (end - 1) / _blockSize; b++)
            {
                var needed = planned.Add(b) && !_cache!.Contains(b) && !_inflight.ContainsKey(b);
                if (needed && runStart >= 0 && b == runEnd + 1)
                {
                    runEnd = b;
                    continue;
                }
                if (runStart >= 0)
                {
                    missing.Add(BlockRange(runStart, runEnd));
                    runStart = -1;
                }
                if (needed)
                {
                    (runStart, runEnd) = (b, b);
                }
            }
            if (runStart >= 0)
            {
                missing.Add(BlockRange(runStart, runEnd));
            }
        }
        var maxLength = (int)Math.Min(_strategy.MaxRequestBytes, Math.Max(_blockSize, _strategy.EffectivePrefetchWindow));
        if (_strategy.CoalesceGapBytes < 0)
        {
            return missing;
        }
        // Coalesced requests stay block-aligned; the gap is rounded down to whole blocks.
        var gap = _strategy.CoalesceGapBytes / _blockSize * (long)_blockSize;
        return RangeCoalescer.Coalesce(missing, gap, maxLength);
    }

    private ByteRange BlockRange(long first, long last)
    {
        var start = first * _blockSize;
        return new ByteRange(start, (int)(Math.Min(Length, (last + 1) * _blockSize) - start));
    }

    private void Consumed(bool firstUseOfPrefetch)
    {
        if (firstUseOfPrefetch)
        {
            Release(1);
        }
    }

    private void Release(int slots)
    {
        if (slots > 0)
        {
            _windowSlots?.Release(slots);
        }
    }
}
