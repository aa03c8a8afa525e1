namespace Histoscale.Archive.Tiles;

/// <summary>
/// Encoded responses (tile JPEGs, PNGs) by key, bounded in bytes, least recently used evicted first. One lock: the
/// work under it is a dictionary lookup and a list splice, far below the cost of producing a tile.
/// </summary>
internal sealed class EncodedTileCache(long capacityBytes)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, byte[] Bytes)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, byte[] Bytes)> _order = new();
    private readonly Lock _lock = new();
    private long _bytes;

    public long Bytes => _bytes;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(string key, out byte[] bytes)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                bytes = node.Value.Bytes;
                return true;
            }
        }
        bytes = [];
        return false;
    }

    public void Add(string key, byte[] bytes)
    {
        if (bytes.Length > capacityBytes / 8)
        {
            return; // one huge region must not flush the tiles everyone is looking at
        }
        lock (_lock)
        {
            if (_map.ContainsKey(key))
            {
                return;
            }
            _map[key] = _order.AddFirst((key, bytes));
            _bytes += bytes.Length;
            while (_bytes > capacityBytes && _order.Last is { } last)
            {
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes.Length;
            }
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _map.Clear();
            _order.Clear();
            _bytes = 0;
        }
    }
}
