using System.Diagnostics;
using Histoscale.Slides;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary>
/// A store that drops connections, answers 503/429 and stalls or cuts bodies for a fraction of requests: reads
/// still complete with identical pixels; when every request fails, a clear error comes within the retry budget.
/// </summary>
public class FaultTests
{
    private static readonly RetryOptions FastRetry = new()
    {
        MaxAttempts = 8,
        BaseDelay = TimeSpan.FromMilliseconds(5),
        MaxDelay = TimeSpan.FromMilliseconds(50),
        AttemptTimeout = TimeSpan.FromSeconds(1), // a stalled body is abandoned after this
    };

    private static readonly Fault[] AllFaults = [Fault.DropConnection, Fault.ServiceUnavailable, Fault.Throttle429, Fault.StallMidBody, Fault.TruncateBody];

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void Reads_survive_a_quarter_of_requests_failing(string store)
    {
        Stores.Require(store);
        var log = new FaultLog();
        var options = Stores.Options() with
        {
            // One small block per request and no head read: ~75 requests, so every kind of fault is hit.
            Strategy = StorageStrategy.Cache with { BlockSize = 4096, MaxRequestBytes = 4096, HeadBytes = 0, Retry = FastRetry },
            WrapHttpHandler = inner => new FaultInjectingHandler(inner, 0.25, seed: 7, AllFaults) { Log = log },
        };
        var source = new ObjectStoreProvider(options).Open(Stores.Uri(store));
        using var slide = Slide.Open(source, new SlideOptions { Cache = null });
        TestSlide.AssertSamePixels(slide);
        Assert.True(log.Injected >= 5, $"only {log.Injected} faults were injected in {source.Stats.Requests} requests");
        Assert.True(log.Count(Fault.StallMidBody) > 0 && log.Count(Fault.DropConnection) > 0, "stalls and drops were both exercised");
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void Prefetch_survives_faults_too(string store)
    {
        Stores.Require(store);
        var options = Stores.Options() with
        {
            Strategy = StorageStrategy.Default with { BlockSize = 16 << 10, HeadBytes = 64 << 10, Retry = FastRetry },
            WrapHttpHandler = inner => new FaultInjectingHandler(inner, 0.25, seed: 11, AllFaults),
        };
        using var slide = Slide.Open(new ObjectStoreProvider(options).Open(Stores.Uri(store)), new SlideOptions { Cache = null });
        var level = slide.Levels[0];
        slide.PrefetchTiles(0, from r in Enumerable.Range(0, (int)level.TilesDown) from c in Enumerable.Range(0, (int)level.TilesAcross) select ((long)c, (long)r));
        TestSlide.AssertSamePixels(slide);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void When_every_read_fails_the_error_is_clear_and_comes_within_the_budget(string store)
    {
        Stores.Require(store);
        var options = Stores.Options() with
        {
            Strategy = StorageStrategy.Direct with { Retry = FastRetry with { MaxAttempts = 3, AttemptTimeout = TimeSpan.FromMilliseconds(500) } },
            WrapHttpHandler = inner => new FaultInjectingHandler(inner, 1.0, seed: 3, Fault.StallMidBody, Fault.ServiceUnavailable),
        };
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<SlideException>(() =>
        {
            using var slide = Slide.Open(new ObjectStoreProvider(options).Open(Stores.Uri(store)), new SlideOptions { Cache = null });
        });
        Assert.Equal(Stores.Uri(store), ex.File);
        Assert.Contains("gave up after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }
}
