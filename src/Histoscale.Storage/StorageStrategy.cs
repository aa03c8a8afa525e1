using System.Globalization;

namespace Histoscale.Storage;

/// <summary>
/// How a remote slide is read: each data-loading strategy is one switch here, so the benchmark can measure them
/// one at a time (see docs/data-loading.md). Sizes are bytes; 0 turns a feature off.
/// </summary>
public sealed record StorageStrategy
{
    /// <summary>Name shown in benchmark output.</summary>
    public string Name { get; init; } = "custom";

    /// <summary>One speculative read of the file head at open; reads inside it never go out again. 0 = off.</summary>
    public int HeadBytes { get; init; } = 1 << 20;

    /// <summary>Granularity of the memory (and disk) cache: every remote request is whole, aligned blocks.</summary>
    public int BlockSize { get; init; } = 256 << 10;

    /// <summary>Bytes the LRU block cache may hold per source. 0 = no block cache: every read is its own request.</summary>
    public long MemoryCacheBytes { get; init; } = 256L << 20;

    /// <summary>
    /// Prefetched block runs whose gap is at most this many bytes are merged into one request (tile-range
    /// coalescing); a negative value never merges, so each hinted tile is its own request.
    /// </summary>
    public int CoalesceGapBytes { get; init; } = 0;

    /// <summary>Largest single request after coalescing.</summary>
    public int MaxRequestBytes { get; init; } = 8 << 20;

    /// <summary>Most requests in flight at once for one source (reads and prefetches together).</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>Honour <see cref="Slides.Sources.IPrefetchingSource.Prefetch"/> hints (needs the block cache).</summary>
    public bool Prefetch { get; init; } = true;

    /// <summary>Most prefetched-but-not-yet-read bytes; bounds how far hints run ahead of the reader. 0 = a quarter of the cache.</summary>
    public long PrefetchWindowBytes { get; init; }

    /// <summary>Folder of the optional local disk cache (blocks survive the process); null = off.</summary>
    public string? DiskCacheDirectory { get; init; }

    /// <summary>Bound of the disk cache; the least recently used blocks are deleted beyond it.</summary>
    public long DiskCacheBytes { get; init; } = 8L << 30;

    /// <summary>Retries and timeouts of each request.</summary>
    public RetryOptions Retry { get; init; } = new();

    /// <summary>Every tile read is its own request; only the reader's own 256 KB head read is speculative.</summary>
    public static StorageStrategy Direct { get; } = new() { Name = "direct", HeadBytes = 0, MemoryCacheBytes = 0, Prefetch = false };

    /// <summary><see cref="Direct"/> plus a 1 MiB head read at open (IFDs, tile offset arrays).</summary>
    public static StorageStrategy Head { get; } = Direct with { Name = "head", HeadBytes = 1 << 20 };

    /// <summary>Head plus a read-through block cache: each miss fetches whole 256 KB blocks, neighbours come free.</summary>
    public static StorageStrategy Cache { get; } = new() { Name = "cache", Prefetch = false };

    /// <summary>Cache plus prefetch hints, but every hinted tile is its own request (no coalescing).</summary>
    public static StorageStrategy PrefetchTiles { get; } = new() { Name = "prefetch-tiles", CoalesceGapBytes = -1 };

    /// <summary>The recommended default for object storage: cache, prefetch hints, adjacent blocks coalesced.</summary>
    public static StorageStrategy Default { get; } = new() { Name = "prefetch" };

    /// <summary>The named presets, for <c>--strategy</c>.</summary>
    public static IReadOnlyList<StorageStrategy> Presets { get; } = [Direct, Head, Cache, PrefetchTiles, Default];

    internal long EffectivePrefetchWindow => PrefetchWindowBytes > 0 ? PrefetchWindowBytes : Math.Max(BlockSize, MemoryCacheBytes / 4);

    /// <summary>
    /// Parses "NAME[,key=value...]": a preset name then overrides, e.g. "prefetch,block=64k,gap=1m,concurrency=8,
    /// head=2m,cache=512m,disk=/var/cache/histoscale,window=64m,attempts=5,timeout=10s".
    /// </summary>
    public static StorageStrategy Parse(string spec)
    {
        var parts = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            return Default;
        }
        var s = Presets.FirstOrDefault(p => p.Name.Equals(parts[0], StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown storage strategy '{parts[0]}' (known: {string.Join(", ", Presets.Select(p => p.Name))})");
        foreach (var kv in parts.Skip(1))
        {
            var eq = kv.IndexOf('=');
            if (eq <= 0)
            {
                throw new ArgumentException($"strategy override '{kv}' is not key=value");
            }
            var (key, value) = (kv[..eq].ToLowerInvariant(), kv[(eq + 1)..]);
            s = key switch
            {
                "head" => s with { HeadBytes = checked((int)ParseSize(value)) },
                "block" => s with { BlockSize = checked((int)ParseSize(value)) },
                "cache" => s with { MemoryCacheBytes = ParseSize(value) },
                "gap" => s with { CoalesceGapBytes = value == "-1" ? -1 : checked((int)ParseSize(value)) },
                "maxrequest" => s with { MaxRequestBytes = checked((int)ParseSize(value)) },
                "concurrency" => s with { MaxConcurrency = int.Parse(value, CultureInfo.InvariantCulture) },
                "prefetch" => s with { Prefetch = bool.Parse(value) },
                "window" => s with { PrefetchWindowBytes = ParseSize(value) },
                "disk" => s with { DiskCacheDirectory = value },
                "disksize" => s with { DiskCacheBytes = ParseSize(value) },
                "attempts" => s with { Retry = s.Retry with { MaxAttempts = int.Parse(value, CultureInfo.InvariantCulture) } },
                "timeout" => s with { Retry = s.Retry with { AttemptTimeout = TimeSpan.FromSeconds(double.Parse(value.TrimEnd('s'), CultureInfo.InvariantCulture)) } },
                _ => throw new ArgumentException($"unknown strategy key '{key}'"),
            };
        }
        return (s with { Name = spec }).Validate();
    }

    /// <summary>Throws <see cref="ArgumentException"/> for values no reader could work with.</summary>
    public StorageStrategy Validate()
    {
        if (HeadBytes < 0 || BlockSize < 4096 || MemoryCacheBytes < 0 || MaxConcurrency < 1 || MaxRequestBytes < BlockSize || Retry.MaxAttempts < 1)
        {
            throw new ArgumentException($"invalid storage strategy '{Name}': head>=0, block>=4096, cache>=0, concurrency>=1, maxrequest>=block, attempts>=1");
        }
        return this;
    }

    /// <summary>"64k", "2m", "1g" or plain bytes.</summary>
    public static long ParseSize(string text)
    {
        var t = text.Trim().ToLowerInvariant().TrimEnd('b', 'i');
        var mult = t.EndsWith('k') ? 1L << 10 : t.EndsWith('m') ? 1L << 20 : t.EndsWith('g') ? 1L << 30 : 1;
        if (mult > 1)
        {
            t = t[..^1];
        }
        return (long)(double.Parse(t, CultureInfo.InvariantCulture) * mult);
    }
}
