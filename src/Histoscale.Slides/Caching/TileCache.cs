namespace Histoscale.Slides.Caching;

/// <summary>Identifies a decoded tile across every open slide.</summary>
public readonly record struct TileKey(long SlideId, int Level, long Col, long Row);

/// <summary>A decoded tile as cached: RGBA rows of the level's tile width.</summary>
public sealed class CachedTile(byte[] rgba, TileStatus status)
{
    public byte[] Rgba { get; } = rgba;

    public TileStatus Status { get; } = status;
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

    public TileCache(long capacityBytes = DefaultCapacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <summary>The process-wide cache, sized by HISTOSCALE_CACHE_MB when set.</summary>
    public static TileCache Shared { get; } = new(
        long.TryParse(Environment.GetEnvironmentVariable("HISTOSCALE_CACHE_MB"), out var mb) && mb >= 0 ? mb * 1024 * 1024 : DefaultCapacityBytes);

    public long CapacityBytes { get; }

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

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

    public bool TryGet(TileKey key, out CachedTile tile)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
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

    public void Add(TileKey key, CachedTile tile)
    {
        long size = tile.Rgba.Length;
        if (size > CapacityBytes)
        {
            return;
        }
        lock (_gate)
        {
            if (_map.ContainsKey(key))
            {
                return; // another thread decoded the same tile first
            }
            _map[key] = _lru.AddFirst((key, tile));
            _bytes += size;
            while (_bytes > CapacityBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
                _bytes -= last.Value.Tile.Rgba.Length;
            }
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
                    _bytes -= node.Value.Tile.Rgba.Length;
                }
                node = next;
            }
        }
    }
}
