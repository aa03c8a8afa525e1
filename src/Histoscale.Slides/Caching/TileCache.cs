namespace Histoscale.Slides.Caching;

/// <summary>Identifies a decoded tile across every open slide.</summary>
/// <param name="SlideId">Process-unique id of the open <see cref="Slide"/> (not stable across opens).</param>
/// <param name="Level">Pyramid level index.</param>
/// <param name="Col">Tile column in that level's grid.</param>
/// <param name="Row">Tile row in that level's grid.</param>
public readonly record struct TileKey(long SlideId, int Level, long Col, long Row);

/// <summary>
/// A decoded tile as cached: RGBA rows of the level's tile width. Reference-counted so its pixel buffer can come
/// from, and go back to, a pool: every holder (the cache, each reader copying out of it) owns one reference and
/// calls <see cref="Release"/> when done. A 240-px tile is 230 KB — a large-object-heap array per cache miss
/// made GC the main cost of reading unaligned pipeline tiles; pooled buffers recycle instead.
/// </summary>
public sealed class CachedTile
{
    private readonly bool _pooled;
    private byte[]? _rgba;
    private int _references = 1;

    /// <summary>A tile over a caller's array (never pooled); the creator holds the first reference.</summary>
    public CachedTile(byte[] rgba, TileStatus status)
    {
        _rgba = rgba;
        Status = status;
        Bytes = rgba.Length;
    }

    private CachedTile(int bytes)
    {
        _rgba = System.Buffers.ArrayPool<byte>.Shared.Rent(bytes);
        _pooled = true;
        Bytes = _rgba.Length; // the pool rounds up to a power of two: count what is really held
    }

    /// <summary>
    /// A tile over a pooled buffer of at least <paramref name="bytes"/>, returned to the pool after the last
    /// <see cref="Release"/>; the caller holds the first reference. <see cref="Status"/> starts as Decoded.
    /// </summary>
    public static CachedTile Rent(int bytes) => new(bytes);

    /// <summary>The pixels; only valid while the caller holds a reference.</summary>
    public byte[] Rgba => _rgba ?? throw new ObjectDisposedException(nameof(CachedTile), "tile used after its last reference was released");

    /// <summary>What the buffer holds; set by whoever fills it, before the tile is shared.</summary>
    public TileStatus Status { get; set; }

    /// <summary>Bytes the tile accounts for in a cache's budget.</summary>
    public long Bytes { get; }

    /// <summary>Adds a reference unless the tile has already been released for good.</summary>
    internal bool TryRetain()
    {
        var n = Volatile.Read(ref _references);
        while (n > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, n + 1, n);
            if (seen == n)
            {
                return true;
            }
            n = seen;
        }
        return false;
    }

    /// <summary>Drops one reference; the last one hands a pooled buffer back.</summary>
    public void Release()
    {
        var n = Interlocked.Decrement(ref _references);
        if (n == 0 && _pooled)
        {
            var rgba = Interlocked.Exchange(ref _rgba, null);
            if (rgba is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rgba);
            }
        }
        else if (n < 0)
        {
            throw new InvalidOperationException("tile released more often than retained");
        }
    }
}

/// <summary>
/// Decoded tiles shared by every thread and slide, bounded in bytes, least recently used evicted first.
/// The lock guards only O(1) bookkeeping; decoding happens outside it, so threads never wait on each other's decodes.
/// </summary>
public sealed class TileCache
{
    /// <summary>Default capacity: enough for a viewer's screenful at several levels, small next to the 1 GB budget.</summary>
    public const long DefaultCapacityBytes = 256L * 1024 * 1024;

    private readonly Dictionary<TileKey, LinkedListNode<(TileKey Key, CachedTile Tile)>> _map = [];
    private readonly LinkedList<(TileKey Key, CachedTile Tile)> _lru = new();
    private readonly Lock _gate = new();
    private long _bytes;
    private long _hits;
    private long _misses;

    /// <summary>An empty cache holding at most <paramref name="capacityBytes"/> of decoded RGBA tiles.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacityBytes"/> is negative.</exception>
    public TileCache(long capacityBytes = DefaultCapacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <summary>The budget in bytes; tiles are evicted least recently used first once <see cref="Bytes"/> exceeds it.</summary>
    public long CapacityBytes { get; private set; }

    /// <summary>Changes the budget (e.g. to a pipeline's working set once its plan is known), evicting down to it.</summary>
    public void Resize(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        lock (_gate)
        {
            CapacityBytes = capacityBytes;
            TrimLocked();
        }
    }

    /// <summary>Bytes currently held (pooled buffers count at their rented size).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Lookups (<see cref="TryGet"/>) that found their tile, since the cache was created.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups (<see cref="TryGet"/>) that did not find their tile, since the cache was created.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Number of tiles currently cached.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _map.Count;
            }
        }
    }

    /// <summary>Finds a tile; on success the caller holds a reference and must <see cref="CachedTile.Release"/> it.</summary>
    public bool TryGet(TileKey key, out CachedTile tile)
    {
        lock (_gate)
        {
            // The cache's own reference keeps the tile alive while it is mapped, so retaining cannot fail here.
            if (_map.TryGetValue(key, out var node) && node.Value.Tile.TryRetain())
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                tile = node.Value.Tile;
                _hits++;
                return true;
            }
            _misses++;
        }
        tile = null!;
        return false;
    }

    /// <summary>
    /// Caches a tile under its own new reference (the caller keeps, and later releases, its own). False when the
    /// tile is larger than the cache or another thread cached the same key first.
    /// </summary>
    public bool Add(TileKey key, CachedTile tile)
    {
        var size = tile.Bytes;
        if (size > CapacityBytes)
        {
            return false;
        }
        lock (_gate)
        {
            if (_map.ContainsKey(key) || !tile.TryRetain())
            {
                return false; // another thread decoded the same tile first
            }
            _map[key] = _lru.AddFirst((key, tile));
            _bytes += size;
            TrimLocked();
        }
        return true;
    }

    private void TrimLocked()
    {
        while (_bytes > CapacityBytes && _lru.Last is { } last)
        {
            _lru.RemoveLast();
            _map.Remove(last.Value.Key);
            _bytes -= last.Value.Tile.Bytes;
            last.Value.Tile.Release();
        }
    }

    /// <summary>Drops every tile of one slide (when it is closed).</summary>
    public void Evict(long slideId)
    {
        lock (_gate)
        {
            var node = _lru.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.Key.SlideId == slideId)
                {
                    _lru.Remove(node);
                    _map.Remove(node.Value.Key);
                    _bytes -= node.Value.Tile.Bytes;
                    node.Value.Tile.Release();
                }
                node = next;
            }
        }
    }
}
