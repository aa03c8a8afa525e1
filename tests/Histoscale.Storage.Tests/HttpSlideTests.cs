using System.Diagnostics;
using Histoscale.Benchmarks.Storage;
using Histoscale.Cli;
using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Storage.Strategies;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary>
/// Plain http(s) slides (presigned URLs, static file servers) take the object stores' path: the same strategies,
/// statistics and Polly retry policy. Served by the loopback range server, which can fail on demand.
/// </summary>
public class HttpSlideTests
{
    private static readonly RetryOptions FastRetry = new()
    {
        MaxAttempts = 4,
        BaseDelay = TimeSpan.FromMilliseconds(5),
        MaxDelay = TimeSpan.FromMilliseconds(50),
        AttemptTimeout = TimeSpan.FromSeconds(5),
    };

    private static StorageSource OpenDirect(RangeServer server, RetryOptions? retry = null) =>
        new ObjectStoreProvider(new StorageOptions { Strategy = StorageStrategy.Direct with { Retry = retry ?? FastRetry } }).Open(server.Url);

    [Fact]
    public void An_http_slide_opened_with_the_host_options_gets_the_strategies()
    {
        using var server = new RangeServer(TestSlide.Bytes);
        // Small head and blocks, so this 300 KB slide is not all fetched by the head read.
        var host = HostContext.FromVariables(k => k == "HISTOSCALE_STORAGE_STRATEGY" ? "prefetch,head=16k,block=16k" : null);
        List<ByteRange> tiles;
        using (var source = ByteSources.Open(server.Url, host.Slides.Sources))
        {
            var store = Assert.IsType<StorageSource>(source);
            Assert.Equal((16 << 10, 16 << 10), (store.Strategy.HeadBytes, store.Strategy.BlockSize));
            var stats = store.Stats;
            Assert.Equal(1, stats.Requests); // the head read at open
            // No decoded-tile cache here, so the second pass below has to come from the block cache.
            using var slide = Slide.Open(source, host.Slides with { Cache = null });
            Assert.True(stats.Requests <= 12, $"{stats.Requests} requests to open: the head read and block cache should serve the directories");
            TestSlide.AssertSamePixels(slide);
            var afterFirstPass = (stats.Requests, stats.BlockHits);
            Assert.True(stats.BlockHits > 0);
            TestSlide.AssertSamePixels(slide);
            Assert.Equal(afterFirstPass.Requests, stats.Requests); // the second pass is all block-cache hits
            Assert.True(stats.BlockHits > afterFirstPass.BlockHits);
            var level = slide.Levels[0];
            tiles = [.. from r in Enumerable.Range(0, (int)level.TilesDown) from c in Enumerable.Range(0, (int)level.TilesAcross)
                        select slide.GetTileByteRange(0, c, r)!.Value];
        }

        // A fresh source hinted with level 0's tiles: the hinted blocks go out coalesced, few requests for many tiles.
        using var fresh = Assert.IsType<StorageSource>(ByteSources.Open(server.Url, host.Slides.Sources));
        fresh.Prefetch(tiles);
        Assert.True(SpinWait.SpinUntil(() => fresh.Stats.PrefetchRequests > 0, 5000), "no prefetch request went out");
        foreach (var t in tiles)
        {
            var buffer = new byte[t.Length];
            Assert.Equal(t.Length, fresh.Read(t.Offset, buffer));
            Assert.True(buffer.AsSpan().SequenceEqual(TestSlide.Bytes.AsSpan((int)t.Offset, t.Length)));
        }
        Assert.True(fresh.Stats.Requests <= 4, $"{fresh.Stats.Requests} requests for {tiles.Count} tiles: not coalesced");
    }

    [Fact]
    public void Every_strategy_reads_an_http_slide_with_the_same_pixels()
    {
        using var server = new RangeServer(TestSlide.Bytes);
        var provider = new ObjectStoreProvider(new StorageOptions());
        Assert.True(provider.CanOpen(new Uri(server.Url)));
        foreach (var strategy in StorageStrategy.Presets)
        {
            var options = new StorageOptions { Strategy = strategy with { BlockSize = 8192 } };
            using var slide = Slide.Open(new ObjectStoreProvider(options).Open(server.Url), new SlideOptions { Cache = null });
            TestSlide.AssertSamePixels(slide);
        }
    }

    [Fact]
    public void Bench_storage_reads_an_http_url_with_every_strategy_through_the_store_stack()
    {
        using var server = new RangeServer(TestSlide.Bytes);
        var handlerRequests = 0;
        var storage = new StorageOptions { WrapHttpHandler = inner => new CountingHandler(inner, () => Interlocked.Increment(ref handlerRequests)) };
        var options = new StorageBenchOptions { Storage = storage, Threads = 2, MaxDuration = TimeSpan.FromSeconds(60) };
        var results = new List<StorageBenchResult>();
        foreach (var strategy in StorageStrategy.Presets)
        {
            var result = StorageBenchmark.Run(server.Url, strategy, null, options);
            Assert.True(result.Complete, $"{strategy.Name} did not finish");
            Assert.Equal("store", result.StorageClass);
            Assert.True(result.Requests > 0 && result.BytesFetched > 0, $"{strategy.Name}: no traffic counted");
            results.Add(result);
        }
        // The store's HTTP stack (and its options) carried every request, not a private client.
        Assert.True(handlerRequests >= results.Sum(r => r.Requests), $"{handlerRequests} requests through StorageOptions' handler");
        var direct = results.Single(r => r.Strategy == StorageStrategy.Direct.Name);
        var prefetch = results.Single(r => r.Strategy == StorageStrategy.Default.Name);
        Assert.True(prefetch.Requests < direct.Requests, $"prefetch {prefetch.Requests} requests, direct {direct.Requests}");
        Assert.True(StorageBenchmark.IsRemote(server.Url));
        Assert.Equal(StorageStrategy.Direct.Name, StorageBenchmark.Run(server.Url, null, null, options).Strategy); // no raw file behind a URL
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task Transient_statuses_are_retried_until_the_read_succeeds(int status)
    {
        var bytes = TestSlide.Bytes;
        using var server = new RangeServer(bytes) { FailNextStatus = status };
        using var source = OpenDirect(server);
        var buffer = new byte[3000];
        server.FailNext = 2;
        var before = server.Requests;
        Assert.Equal(3000, source.Read(100, buffer));
        Assert.Equal(bytes.AsSpan(100, 3000).ToArray(), buffer);
        Assert.Equal(before + 3, server.Requests); // two failures, then the answer
        server.FailNext = 3;
        Assert.Equal(3000, await source.ReadAsync(5000, buffer));
        Assert.Equal(bytes.AsSpan(5000, 3000).ToArray(), buffer);
    }

    [Fact]
    public void Persistent_and_permanent_failures_stop_with_the_url_and_status()
    {
        using var server = new RangeServer(TestSlide.Bytes);
        using var source = OpenDirect(server, FastRetry with { MaxAttempts = 3 });
        var buffer = new byte[100];
        server.FailNext = 100; // 503 for good: three tries, then the error
        var before = server.Requests;
        var ex = Assert.Throws<SlideException>(() => source.Read(0, buffer));
        Assert.Equal(before + 3, server.Requests);
        Assert.Contains("503", ex.Message);
        Assert.Contains("gave up after 3 attempts", ex.Message);
        Assert.Equal(server.Url, ex.File);
        server.FailNext = 1;
        server.FailNextStatus = 404; // not worth repeating: one try
        before = server.Requests;
        ex = Assert.Throws<SlideException>(() => source.Read(0, buffer));
        Assert.Equal(before + 1, server.Requests);
        Assert.Contains("404", ex.Message);
        Assert.Contains(server.Url, ex.Message);
    }

    [Fact]
    public void Bodies_cut_off_mid_way_are_retried()
    {
        var bytes = TestSlide.Bytes;
        using var server = new RangeServer(bytes);
        using var source = OpenDirect(server, FastRetry with { MaxAttempts = 6 });
        server.TruncateEvery = 2; // every other response drops its connection half-way through the body
        var buffer = new byte[20000];
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(20000, source.Read(i * 20000, buffer));
            Assert.Equal(bytes.AsSpan(i * 20000, 20000).ToArray(), buffer);
        }
    }

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    public void Missing_or_forbidden_urls_fail_at_once_naming_the_url(int status)
    {
        using var server = new RangeServer([1, 2, 3]) { FailWithStatus = status };
        var host = HostContext.FromVariables(_ => null);
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<SlideException>(() => Slide.Open(server.Url, host.Slides));
        Assert.Equal(server.Url, ex.File);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
        // HEAD, then the one-byte ranged GET (presigned URLs are signed for GET only, so a HEAD 403 is not final); no retries.
        Assert.True(server.Requests <= 2, $"{server.Requests} requests");
        Assert.DoesNotContain("gave up", ex.Message);
    }

    [Fact]
    public void A_server_that_ignores_ranges_fails_at_once_naming_the_url()
    {
        using var server = new RangeServer(TestSlide.Bytes) { IgnoreRanges = true };
        var host = HostContext.FromVariables(_ => null);
        var ex = Assert.Throws<SlideException>(() => Slide.Open(server.Url, host.Slides));
        Assert.Equal(server.Url, ex.File);
        Assert.Contains("range", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(server.Requests <= 2, $"{server.Requests} requests: a whole-file answer must not be retried");
    }

    [Fact]
    public void A_slide_that_changes_while_being_read_is_an_error_not_mixed_bytes()
    {
        using var server = new RangeServer(TestSlide.Bytes) { ETag = "\"v1\"" };
        using var source = OpenDirect(server);
        var buffer = new byte[100];
        Assert.Equal(100, source.Read(0, buffer));
        server.ETag = "\"v2\"";
        var before = server.Requests;
        var ex = Assert.Throws<SlideException>(() => source.Read(0, buffer));
        Assert.Contains("changed", ex.Message);
        Assert.Equal(before + 1, server.Requests);
    }

    private sealed class CountingHandler(HttpMessageHandler inner, Action onRequest) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onRequest();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
