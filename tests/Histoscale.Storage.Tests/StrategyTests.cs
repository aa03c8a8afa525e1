using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Benchmarks.Storage;
using Histoscale.Storage.Strategies;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary>The strategy layer over an in-memory source: what each switch does to requests and bytes.</summary>
public class StrategyTests
{
    [Fact]
    public void Coalescing_merges_neighbours_within_the_gap_and_size_limit_in_order()
    {
        ByteRange[] ranges = [new(0, 100), new(100, 50), new(200, 10), new(1000, 10), new(500, 10)];
        Assert.Equal([new ByteRange(0, 150), new ByteRange(200, 10), new ByteRange(1000, 10), new ByteRange(500, 10)], RangeCoalescer.Coalesce(ranges, 0, 1 << 20));
        Assert.Equal([new ByteRange(0, 210), new ByteRange(1000, 10), new ByteRange(500, 10)], RangeCoalescer.Coalesce(ranges, 64, 1 << 20));
        Assert.Equal([new ByteRange(0, 150), new ByteRange(200, 10), new ByteRange(1000, 10), new ByteRange(500, 10)], RangeCoalescer.Coalesce(ranges, 64, 160));
        Assert.Equal(5, RangeCoalescer.Coalesce(ranges, -1, 1 << 20).Count);
    }

    [Fact]
    public void Block_cache_is_bounded_in_bytes_and_evicts_the_least_recently_used()
    {
        var cache = new BlockCache(3 * 100);
        for (var i = 0; i < 3; i++)
        {
            cache.Add(i, new byte[100], unread: false);
        }
        Assert.True(cache.TryGet(0, out _, out _)); // 0 is now the most recent
        Assert.Equal(0, cache.Add(3, new byte[100], unread: false)); // evicts 1, which was not an unread prefetch
        Assert.False(cache.Contains(1));
        Assert.True(cache.Contains(0) && cache.Contains(2) && cache.Contains(3));
        Assert.Equal(300, cache.Bytes);
    }

    [Fact]
    public void Strategy_specs_parse_presets_and_overrides()
    {
        var s = StorageStrategy.Parse("prefetch,block=64k,gap=1m,concurrency=8,head=2m,cache=512m,attempts=3,timeout=2.5s");
        Assert.Equal((64 << 10, 1 << 20, 8, 2 << 20, 512L << 20, 3), (s.BlockSize, s.CoalesceGapBytes, s.MaxConcurrency, s.HeadBytes, s.MemoryCacheBytes, s.Retry.MaxAttempts));
        Assert.Equal(TimeSpan.FromSeconds(2.5), s.Retry.AttemptTimeout);
        Assert.Equal(0, StorageStrategy.Parse("direct").MemoryCacheBytes);
        Assert.Throws<ArgumentException>(() => StorageStrategy.Parse("fastest"));
        Assert.Throws<ArgumentException>(() => StorageStrategy.Parse("prefetch,block=1"));
    }

    [Theory]
    [InlineData("s3://bucket/a/b.svs", StoreKind.S3, "bucket", "a/b.svs", null)]
    [InlineData("gs://bucket/dir/", StoreKind.Gcs, "bucket", "dir/", null)]
    [InlineData("az://container/x%20y.svs", StoreKind.AzureBlob, "container", "x y.svs", null)]
    [InlineData("https://acct.blob.core.windows.net/c/k.svs?sig=abc", StoreKind.AzureBlob, "c", "k.svs", "acct")]
    public void Store_uris_parse(string text, StoreKind kind, string container, string key, string? account)
    {
        Assert.True(StorageUri.TryParse(text, out var uri));
        Assert.Equal((kind, container, key, account), (uri!.Kind, uri.Container, uri.Key, uri.Account));
        Assert.False(StorageUri.TryParse("https://example.org/a.svs", out _));
    }

    [Fact]
    public void Every_strategy_reads_the_same_pixels_as_the_file()
    {
        foreach (var strategy in StorageStrategy.Presets)
        {
            using var slide = Slide.Open(new StorageSource(Memory(), strategy with { BlockSize = 8192 }), new SlideOptions { Cache = null });
            TestSlide.AssertSamePixels(slide);
        }
    }

    [Fact]
    public void Direct_reads_are_one_request_each_and_the_head_read_serves_the_metadata()
    {
        var direct = new StorageSource(Memory(), StorageStrategy.Direct);
        using (Slide.Open(direct, new SlideOptions { Cache = null }))
        {
        }
        var head = new StorageSource(Memory(), StorageStrategy.Head);
        using (Slide.Open(head, new SlideOptions { Cache = null }))
        {
        }
        Assert.Equal(1, head.Stats.Requests); // the whole small file's metadata came with the head read
        Assert.True(direct.Stats.Requests > head.Stats.Requests);
    }

    [Fact]
    public void Prefetch_hints_turn_tile_reads_into_few_coalesced_requests_with_little_amplification()
    {
        List<ByteRange> ranges;
        using (var slide = Slide.Open(Memory(), new SlideOptions { Cache = null }))
        {
            var lvl = slide.Levels[0];
            ranges = [.. from r in Enumerable.Range(0, (int)lvl.TilesDown) from c in Enumerable.Range(0, (int)lvl.TilesAcross)
                         select slide.GetTileByteRange(0, c, r)!.Value];
        }
        // A fresh source (nothing cached yet), hinted with the level's tiles, then read tile by tile as a decoder does.
        var source = new StorageSource(Memory(), StorageStrategy.Default with { BlockSize = 16 << 10, HeadBytes = 0 });
        source.Prefetch(ranges);
        Assert.True(SpinWait.SpinUntil(() => source.Stats.PrefetchRequests > 0, 5000), "no prefetch request went out");
        foreach (var r in ranges)
        {
            var buffer = new byte[r.Length];
            Assert.Equal(r.Length, source.Read(r.Offset, buffer));
            Assert.True(buffer.AsSpan().SequenceEqual(TestSlide.Bytes.AsSpan((int)r.Offset, r.Length)));
        }
        Assert.True(source.Stats.Requests <= 3, $"{source.Stats.Requests} requests for {ranges.Count} tiles");
        Assert.InRange(source.Stats.ReadAmplification, 1.0, 1.2);
    }

    [Fact]
    public void Without_coalescing_each_hinted_tile_is_its_own_request()
    {
        var strategy = StorageStrategy.PrefetchTiles with { BlockSize = 4096, HeadBytes = 1 << 20 };
        var source = new StorageSource(Memory(), strategy);
        using var slide = Slide.Open(source, new SlideOptions { Cache = null });
        var lvl = slide.Levels[0];
        var tiles = (from c in Enumerable.Range(0, (int)lvl.TilesAcross) select ((long)c, 0L)).ToList();
        // Everything is inside the 1 MiB head: hints for it are dropped, nothing goes out.
        slide.PrefetchTiles(0, tiles);
        Thread.Sleep(50);
        Assert.Equal(1, source.Stats.Requests);
    }

    [Fact]
    public void The_disk_cache_serves_a_second_pass_without_requests()
    {
        var dir = Directory.CreateTempSubdirectory("histoscale-diskcache-").FullName;
        try
        {
            var strategy = StorageStrategy.Cache with { HeadBytes = 0, BlockSize = 8192, DiskCacheDirectory = dir };
            var first = new StorageSource(Memory(), strategy);
            using (var slide = Slide.Open(first, new SlideOptions { Cache = null }))
            {
                TestSlide.AssertSamePixels(slide);
            }
            Assert.True(first.Stats.Requests > 0);
            SpinWait.SpinUntil(() => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count(f => !f.EndsWith(".tmp", StringComparison.Ordinal)) * 8192L >= TestSlide.Bytes.Length - 8192, 5000);
            var second = new StorageSource(Memory(), strategy);
            using (var slide = Slide.Open(second, new SlideOptions { Cache = null }))
            {
                TestSlide.AssertSamePixels(slide);
            }
            Assert.Equal(0, second.Stats.Requests);
            Assert.True(second.Stats.DiskHits > 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Requests_in_flight_never_exceed_the_concurrency_limit()
    {
        var counting = new ConcurrencyProbe(Memory());
        var source = new StorageSource(counting, StorageStrategy.Direct with { MaxConcurrency = 3 });
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () => await source.ReadAsync(i * 1000L, new byte[1000]))));
        Assert.InRange(counting.MaxInFlight, 1, 3);
    }

    [Fact]
    public void A_throttled_source_delays_each_request_by_the_class_latency()
    {
        var cls = new StorageClass("test", TimeSpan.FromMilliseconds(20), 0);
        using var source = new ThrottledSource(Memory(), cls);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        source.Read(0, new byte[10]);
        source.Read(10, new byte[10]);
        Assert.True(sw.ElapsedMilliseconds >= 38, $"{sw.ElapsedMilliseconds} ms");
        Assert.Equal(TimeSpan.FromMilliseconds(40), StorageClass.ObjectStandard.RequestTime(1_000_000));
    }

    [Fact]
    public void The_disk_cache_never_serves_an_object_replaced_under_the_same_name_and_length()
    {
        var dir = Directory.CreateTempSubdirectory("histoscale-diskcache-").FullName;
        try
        {
            var strategy = StorageStrategy.Cache with { HeadBytes = 0, BlockSize = 8192, DiskCacheDirectory = dir };
            var old = new byte[64 * 1024];
            var replacement = new byte[old.Length];
            old.AsSpan().Fill(1);
            replacement.AsSpan().Fill(2);
            var buffer = new byte[8192];
            using (var first = new StorageSource(new Versioned(old, "v1"), strategy))
            {
                first.Read(0, buffer);
            }
            SpinWait.SpinUntil(() => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Any(f => !f.EndsWith(".tmp", StringComparison.Ordinal)), 5000);
            using var second = new StorageSource(new Versioned(replacement, "v2"), strategy);
            second.Read(0, buffer);
            Assert.Equal(2, buffer[0]);
            Assert.Equal(0, second.Stats.DiskHits);
        }
        finally
        {
            // Blocks land on disk in the background: retry until the last write has finished.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                    break;
                }
                catch (IOException) when (attempt < 50)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }

    private static MemorySource Memory() => new(TestSlide.Bytes, "memory://small.svs");

    /// <summary>An object of a store under one name, whose ETag says which upload it is.</summary>
    private sealed class Versioned(byte[] bytes, string etag) : IByteSource
    {
        private readonly MemorySource _inner = new(bytes, "s3://bucket/same-name.svs");

        public string Name => _inner.Name;

        public long Length => _inner.Length;

        public SourceIdentity Identity { get; } = new() { Length = bytes.Length, ETag = etag };

        public int Read(long offset, Span<byte> buffer) => _inner.Read(offset, buffer);

        public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(offset, buffer, cancellationToken);

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>Records the most reads ever running at once.</summary>
    private sealed class ConcurrencyProbe(IByteSource inner) : IByteSource
    {
        private int _now;
        private int _max;

        public int MaxInFlight => _max;

        public string Name => inner.Name;

        public long Length => inner.Length;

        public int Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

        public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _now);
            InterlockedMax(ref _max, now);
            await Task.Delay(5, cancellationToken);
            Interlocked.Decrement(ref _now);
            return await inner.ReadAsync(offset, buffer, cancellationToken);
        }

        public void Dispose() => inner.Dispose();

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }
}
