namespace Histoscale.Storage.Strategies;

/// <summary>
/// A bytes-bounded LRU of fixed-size, aligned blocks of one source. Blocks are slices of the buffer their
/// request landed in (no copy per block). A block fetched ahead of the reader is flagged until first read, so the
/// prefetch window can tell fetched-and-used from fetched-and-waiting.
/// </summary>
internal sealed class BlockCache(long capacityBytes)
{
    private readonly Dictionary<long, LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _lru = new();
    private readonly Lock _gate = new();
    private long _bytes;

    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Looks a block up and marks it recently used; <paramref name="firstUseOfPrefetch"/> is true once per prefetched block.</summary>
    public bool TryGet(long index, out ReadOnlyMemory<byte> data, out bool firstUseOfPrefetch)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(index, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                data = node.Value.Data;
                firstUseOfPrefetch = node.Value.Unread;
                node.Value.Unread = false;
                return true;
            }
        }
        data = default;
        firstUseOfPrefetch = false;
        return false;
    }

    public bool Contains(long index)
    {
        lock (_gate)
        {
            return _map.ContainsKey(index);
        }
    }

    /// <summary>Adds (or replaces) a block; returns how many still-unread prefetched blocks were evicted to make room.</summary>
    public int Add(long index, ReadOnlyMemory<byte> data, bool unread)
    {
        var evictedUnread = 0;
        lock (_gate)
        {
            if (_map.Remove(index, out var old))
            {
                _lru.Remove(old);
                _bytes -= old.Value.Data.Length;
                evictedUnread += old.Value.Unread ? 1 : 0;
            }
            var node = _lru.AddFirst(new Entry(index, data) { Unread = unread });
            _map[index] = node;
            _bytes += data.Length;
            while (_bytes > capacityBytes && _lru.Last is { } victim && victim != node)
            {
                _lru.RemoveLast();
                _map.Remove(victim.Value.Index);
                _bytes -= victim.Value.Data.Length;
                evictedUnread += victim.Value.Unread ? 1 : 0;
            }
        }
        return evictedUnread;
    }

    private sealed class Entry(long index, ReadOnlyMemory<byte> data)
    {
        public long Index { get; } = index;

        public ReadOnlyMemory<byte> Data { get; } = data;

        public bool Unread { get; set; }
    }
}
