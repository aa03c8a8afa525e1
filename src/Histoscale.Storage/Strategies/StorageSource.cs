using System.Collections.Concurrent;
using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Strategies;

/// <summary>
/// The data-loading strategies over any byte source (a store, or an emulated storage class in the benchmark):
/// a speculative head read, a bounded block cache with an optional disk cache below it, a concurrency limit on
/// requests, and hint-driven prefetch with coalescing (in StorageSource.Prefetch.cs). Each is switched by
/// <see cref="StorageStrategy"/>. Reads of cached blocks are synchronous copies; a miss fetches the run of missing
/// blocks in one request, and a block already in flight is awaited rather than fetched twice.
/// </summary>
public sealed partial class StorageSource : IPrefetchingSource
{
    private readonly IByteSource _inner;
    private readonly StorageStrategy _strategy;
    private readonly byte[] _head;
    private readonly BlockCache? _cache;
    private readonly DiskBlockCache? _disk;
    private readonly SemaphoreSlim _requestSlots;
    private readonly ConcurrentDictionary<long, InflightBlock> _inflight = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly int _blockSize;

    /// <summary>
    /// Wraps <paramref name="inner"/> with <paramref name="strategy"/>; fetches the head (<see cref="StorageStrategy.HeadBytes"/>)
    /// synchronously before returning. The source owns <paramref name="inner"/>.
    /// </summary>
    /// <param name="inner">The raw reader (a store object, or an emulated one).</param>
    /// <param name="strategy">Which strategies to apply, and their sizes.</param>
    /// <param name="stats">Where to count traffic; a new instance when null.</param>
    /// <param name="diskIndexes">Shared disk-cache accounting (one per cache root per process); a new one when null.</param>
    /// <exception cref="ArgumentException"><paramref name="strategy"/> has values no reader can work with.</exception>
    public StorageSource(IByteSource inner, StorageStrategy strategy, StorageStats? stats = null, DiskCacheIndexes? diskIndexes = null)
    {
        strategy.Validate();
        _inner = inner;
        _strategy = strategy;
        _blockSize = strategy.BlockSize;
        Stats = stats ?? new StorageStats();
        _requestSlots = new SemaphoreSlim(strategy.MaxConcurrency);
        Name = inner.Name;
        Length = inner.Length;
        if (strategy.MemoryCacheBytes > 0)
        {
            _cache = new BlockCache(Math.Max(strategy.MemoryCacheBytes, strategy.MaxRequestBytes));
            if (strategy.DiskCacheDirectory is { } dir)
            {
                _disk = new DiskBlockCache(diskIndexes ?? new DiskCacheIndexes(), dir, strategy.DiskCacheBytes, Name, Length, inner.Identity);
            }
            _windowSlots = new SemaphoreSlim((int)Math.Max(1, Math.Min(int.MaxValue, strategy.EffectivePrefetchWindow / _blockSize)));
        }
        // One request for the head: TIFF headers, IFDs and often the tile offset arrays, which the format parser
        // would otherwise fetch in a dozen small dependent round trips.
        var headLength = (int)Math.Min(strategy.HeadBytes, Length);
        _head = headLength > 0 ? FetchAsync(0, headLength, prefetch: false, CancellationToken.None).GetAwaiter().GetResult() : [];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <summary>The object's identity as its store reported it when opened.</summary>
    public SourceIdentity? Identity => _inner.Identity;

    /// <summary>Traffic counters (requests, bytes fetched versus asked for, cache hits).</summary>
    public StorageStats Stats { get; }

    /// <summary>The strategy this source applies.</summary>
    public StorageStrategy Strategy => _strategy;

    /// <inheritdoc />
    /// <exception cref="SlideException">The store failed after the retry budget, or returned fewer bytes than asked.</exception>
    public int Read(long offset, Span<byte> buffer)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        Stats.Requested(count);
        var dest = buffer[..count];
        if (offset + count <= _head.Length)
        {
            _head.AsSpan((int)offset, count).CopyTo(dest);
            return count;
        }
        if (_cache is null)
        {
            _requestSlots.Wait();
            try
            {
                var n = _inner.Read(offset, dest);
                Stats.Request(count, prefetch: false);
                return n == count ? n : throw Truncated(offset, count, n);
            }
            finally
            {
                _requestSlots.Release();
            }
        }
        if (TryCopyCached(offset, dest))
        {
            return count;
        }
        // Sync over async only on a miss: the fetch is the store's async I/O, this thread just waits for it.
        return BlockingRead.Into(dest, count, async memory =>
        {
            await ReadBlocksAsync(offset, memory).ConfigureAwait(false);
            return memory.Length;
        });
    }

    /// <inheritdoc />
    /// <exception cref="SlideException">The store failed after the retry budget, or returned fewer bytes than asked.</exception>
    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        Stats.Requested(count);
        var dest = buffer[..count];
        if (offset + count <= _head.Length)
        {
            _head.AsMemory((int)offset, count).CopyTo(dest);
            return count;
        }
        if (_cache is null)
        {
            await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var n = await _inner.ReadAsync(offset, dest, cancellationToken).ConfigureAwait(false);
                Stats.Request(count, prefetch: false);
                return n == count ? n : throw Truncated(offset, count, n);
            }
            finally
            {
                _requestSlots.Release();
            }
        }
        if (!TryCopyCached(offset, dest.Span))
        {
            await ReadBlocksAsync(offset, dest, cancellationToken).ConfigureAwait(false);
        }
        return count;
    }

    /// <summary>Cancels prefetching and in-flight fetches and disposes the inner source.</summary>
    public void Dispose()
    {
        _disposed.Cancel();
        _inner.Dispose();
    }

    private int Clamp(long offset, int wanted) => offset < 0 || offset >= Length ? 0 : (int)Math.Min(wanted, Length - offset);

    private int BlockLength(long block) => (int)Math.Min(_blockSize, Length - (block * _blockSize));

    /// <summary>The fast path: every block of the range is in memory; copies and returns true, else copies nothing.</summary>
    private bool TryCopyCached(long offset, Span<byte> dest)
    {
        var first = offset / _blockSize;
        var last = (offset + dest.Length - 1) / _blockSize;
        for (var b = first; b <= last; b++)
        {
            if (!_cache!.Contains(b))
            {
                return false;
            }
        }
        for (var b = first; b <= last; b++)
        {
            if (!_cache!.TryGet(b, out var data, out var firstUse))
            {
                return false; // evicted between the check and the copy: take the slow path for all of it
            }
            Consumed(firstUse);
            Stats.BlockHit();
            CopyPart(b, data.Span, offset, dest);
        }
        return true;
    }

    /// <summary>Copies the part of block <paramref name="b"/> that overlaps the read at <paramref name="offset"/>.</summary>
    private void CopyPart(long b, ReadOnlySpan<byte> block, long offset, Span<byte> dest)
    {
        var blockStart = b * _blockSize;
        var from = Math.Max(offset, blockStart);
        var to = Math.Min(offset + dest.Length, blockStart + block.Length);
        block.Slice((int)(from - blockStart), (int)(to - from)).CopyTo(dest[(int)(from - offset)..]);
    }

    /// <summary>The slow path: gathers each block from memory, disk, an in-flight request, or a new request for the run of missing blocks.</summary>
    private async Task ReadBlocksAsync(long offset, Memory<byte> dest, CancellationToken cancellationToken = default)
    {
        var first = offset / _blockSize;
        var last = (offset + dest.Length - 1) / _blockSize;
        var waits = new List<(long Block, Task<ReadOnlyMemory<byte>> Data)>();
        for (var b = first; b <= last; b++)
        {
            if (_cache!.TryGet(b, out var data, out var firstUse))
            {
                Consumed(firstUse);
                Stats.BlockHit();
                CopyPart(b, data.Span, offset, dest.Span);
                continue;
            }
            if (_inflight.TryGetValue(b, out var pending))
            {
                pending.Consumed = true;
                waits.Add((b, pending.Data.Task));
                continue;
            }
            if (TryDisk(b) is { } fromDisk)
            {
                CopyPart(b, fromDisk, offset, dest.Span);
                continue;
            }
            // Start one request for this block and the missing ones after it (up to the read's end).
            var end = b;
            while (end < last && (end + 2 - b) * (long)_blockSize <= _strategy.MaxRequestBytes && !_cache.Contains(end + 1) && !_inflight.ContainsKey(end + 1))
            {
                end++;
            }
            foreach (var block in StartRun(b, end, prefetch: false))
            {
                block.Value.Consumed = true;
                waits.Add((block.Key, block.Value.Data.Task));
            }
            b = end;
        }
        foreach (var (block, task) in waits)
        {
            var data = await task.WaitAsync(cancellationToken).ConfigureAwait(false);
            CopyPart(block, data.Span, offset, dest.Span);
        }
    }

    private byte[]? TryDisk(long block)
    {
        if (_disk?.TryRead(block, BlockLength(block)) is not { } bytes)
        {
            return null;
        }
        Stats.DiskHit();
        Release(_cache!.Add(block, bytes, unread: false));
        return bytes;
    }

    /// <summary>
    /// Registers blocks first..last as in flight and starts one request for them. Blocks some other reader started
    /// meanwhile are fetched again but keep their first registration; rare, and harmless.
    /// </summary>
    private List<KeyValuePair<long, InflightBlock>> StartRun(long first, long last, bool prefetch)
    {
        var blocks = new List<KeyValuePair<long, InflightBlock>>((int)(last - first + 1));
        for (var b = first; b <= last; b++)
        {
            var entry = new InflightBlock(prefetch);
            blocks.Add(new(b, _inflight.TryAdd(b, entry) ? entry : _inflight.GetValueOrDefault(b, entry)));
        }
        var start = first * _blockSize;
        var length = (int)(Math.Min(Length, (last + 1) * _blockSize) - start);
        _ = LandAsync(FetchAsync(start, length, prefetch, _disposed.Token), first, blocks);
        return blocks;
    }

    private async Task LandAsync(Task<byte[]> fetch, long first, List<KeyValuePair<long, InflightBlock>> blocks)
    {
        byte[] bytes;
        try
        {
            bytes = await fetch.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var (b, entry) in blocks)
            {
                _inflight.TryRemove(new(b, entry));
                if (entry.Prefetch)
                {
                    Release(1);
                }
                entry.Data.TrySetException(ex);
            }
            return;
        }
        foreach (var (b, entry) in blocks)
        {
            var offset = (int)((b - first) * _blockSize);
            var data = new ReadOnlyMemory<byte>(bytes, offset, Math.Min(_blockSize, bytes.Length - offset));
            // Added to the cache before leaving the in-flight map, so a reader always finds it in one of the two.
            var unread = entry.Prefetch && !entry.Consumed;
            Release(_cache!.Add(b, data, unread));
            if (entry.Prefetch && !unread)
            {
                Release(1); // read while still in flight: its window slot is free now
            }
            _inflight.TryRemove(new(b, entry));
            entry.Data.TrySetResult(data);
            if (_disk is { } disk)
            {
                _ = Task.Run(() => disk.Write(b, data));
            }
        }
    }

    /// <summary>One request to the inner source, within the concurrency limit, counted.</summary>
    private async Task<byte[]> FetchAsync(long offset, int length, bool prefetch, CancellationToken cancellationToken)
    {
        await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(length);
            var n = await _inner.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
            Stats.Request(length, prefetch);
            return n == length ? buffer : throw Truncated(offset, length, n);
        }
        finally
        {
            _requestSlots.Release();
        }
    }

    private SlideException Truncated(long offset, int expected, int got) =>
        new(Name, $"short read at offset {offset}: expected {expected} bytes, got {got}");

    /// <summary>A block being fetched: its bytes to come, and whether it was asked for ahead of the reader.</summary>
    private sealed class InflightBlock(bool prefetch)
    {
        public TaskCompletionSource<ReadOnlyMemory<byte>> Data { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Prefetch { get; } = prefetch;

        /// <summary>A reader is already waiting for it, so once landed it is not "prefetched and unread".</summary>
        public volatile bool Consumed;
    }
}
