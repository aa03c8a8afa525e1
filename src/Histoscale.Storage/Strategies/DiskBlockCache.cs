using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Histoscale.Storage.Strategies;

/// <summary>
/// An optional bounded local disk cache of blocks, shared by every source using the same folder and kept across
/// processes: a second pass over an archive (another model, a re-run) reads local disk instead of the store.
/// One file per block under a folder per object (URI, length and the store's validators hashed, so an object
/// rewritten under the same name, even at the same length, is a new folder).
/// Least recently used files are deleted beyond the byte bound. Best effort: any I/O error is a cache miss.
/// </summary>
internal sealed class DiskBlockCache
{
    private readonly DiskIndex _index;
    private readonly string _folder;

    public DiskBlockCache(DiskCacheIndexes indexes, string directory, long maxBytes, string objectName, long objectLength, Slides.Sources.SourceIdentity? identity = null)
    {
        var root = Path.GetFullPath(directory);
        _index = indexes.For(root, maxBytes);
        var version = identity is null ? "" : $"\n{identity.Version}\n{identity.ETag}\n{identity.Modified?.UtcTicks}\n{identity.EndsSha256}";
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{objectName}\n{objectLength}{version}")))[..32];
        _folder = Path.Combine(root, key);
    }

    /// <summary>The block's bytes, or null when absent or of the wrong size (a torn write from a crash).</summary>
    public byte[]? TryRead(long block, int expectedLength)
    {
        var path = PathOf(block);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length != expectedLength)
            {
                File.Delete(path);
                return null;
            }
            _index.Touch(path, bytes.Length);
            return bytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Write(long block, ReadOnlyMemory<byte> data)
    {
        var path = PathOf(block);
        var temp = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        try
        {
            Directory.CreateDirectory(_folder);
            using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                f.Write(data.Span);
            }
            File.Move(temp, path, overwrite: true); // readers see a whole block or none
            _index.Touch(path, data.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
        }
    }

    private string PathOf(long block) => Path.Combine(_folder, block.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // best effort
        }
    }

    /// <summary>Sizes and recency of every block file under one root, loaded once per process from the folder.</summary>
    internal sealed class DiskIndex
    {
        private readonly Dictionary<string, LinkedListNode<(string Path, long Size)>> _map = new(StringComparer.Ordinal);
        private readonly LinkedList<(string Path, long Size)> _lru = new();
        private readonly Lock _gate = new();
        private readonly long _maxBytes;
        private long _bytes;

        public DiskIndex(string root, long maxBytes)
        {
            _maxBytes = maxBytes;
            if (!Directory.Exists(root))
            {
                return;
            }
            // Oldest first, so the files used longest ago are the first evicted.
            foreach (var f in new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.LastWriteTimeUtc))
            {
                if (f.Name.EndsWith(".tmp", StringComparison.Ordinal))
                {
                    TryDelete(f.FullName);
                    continue;
                }
                _map[f.FullName] = _lru.AddFirst((f.FullName, f.Length));
                _bytes += f.Length;
            }
        }

        public void Touch(string path, long size)
        {
            List<string>? victims = null;
            lock (_gate)
            {
                if (_map.Remove(path, out var node))
                {
                    _lru.Remove(node);
                    _bytes -= node.Value.Size;
                }
                _map[path] = _lru.AddFirst((path, size));
                _bytes += size;
                while (_bytes > _maxBytes && _lru.Last is { } last && last.Value.Path != path)
                {
                    _lru.RemoveLast();
                    _map.Remove(last.Value.Path);
                    _bytes -= last.Value.Size;
                    (victims ??= []).Add(last.Value.Path);
                }
            }
            victims?.ForEach(TryDelete);
        }
    }
}

/// <summary>
/// The size accounting of each disk-cache folder, shared by the sources that one provider opens (so their blocks are
/// counted against one bound). Owned by <see cref="ObjectStoreProvider"/>; a source made on its own gets its own.
/// </summary>
public sealed class DiskCacheIndexes
{
    private readonly ConcurrentDictionary<string, DiskBlockCache.DiskIndex> _indexes = new(StringComparer.Ordinal);

    internal DiskBlockCache.DiskIndex For(string root, long maxBytes) => _indexes.GetOrAdd(root, r => new DiskBlockCache.DiskIndex(r, maxBytes));
}
