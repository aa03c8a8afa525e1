using System.Diagnostics;
using Histoscale.Slides;
using Histoscale.Slides.Caching;
using Histoscale.Slides.Sources;
using Histoscale.Benchmarks.Storage;
using Histoscale.Storage.Strategies;
using Histoscale.Storage;

namespace Histoscale.Benchmarks.Storage;

/// <summary>
/// Replays a tile access pattern over one slide through one strategy and reports throughput, requests, read
/// amplification and time to first tile. The slide comes from a store URI, or from a local file optionally
/// behind an emulated storage class, so every class sees the same bytes and the same pattern.
/// </summary>
public static class StorageBenchmark
{
    /// <summary>
    /// Opens <paramref name="slide"/> for a run: a store URI or http(s) URL through <see cref="ObjectStoreProvider"/>; a local path
    /// through <see cref="ThrottledSource"/> when <paramref name="storageClass"/> is given; a plain local path with
    /// a null strategy is the raw file, the baseline every other figure is compared against.
    /// </summary>
    public static IByteSource Open(string slide, StorageStrategy? strategy, StorageClass? storageClass, StorageStats stats, StorageOptions? options = null)
    {
        if (IsRemote(slide))
        {
            return new ObjectStoreProvider((options ?? new StorageOptions()) with { Strategy = strategy ?? StorageStrategy.Direct }).Open(slide, stats);
        }
        IByteSource raw = ByteSources.Open(slide, []);
        if (storageClass is not null)
        {
            raw = new ThrottledSource(raw, storageClass);
        }
        return strategy is null ? raw : new StorageSource(raw, strategy, stats);
    }

    /// <summary>
    /// Opens <paramref name="slide"/> as <see cref="Open"/> does and replays <see cref="StorageBenchOptions.Pattern"/> on it.
    /// </summary>
    /// <param name="slide">Store URI or local path.</param>
    /// <param name="strategy">Data-loading strategy under test; null reads the raw source.</param>
    /// <param name="storageClass">Storage class to emulate for a local path; null reads it at local speed.</param>
    /// <param name="options">Pattern, level, threads and limits of the run.</param>
    public static StorageBenchResult Run(string slide, StorageStrategy? strategy, StorageClass? storageClass, StorageBenchOptions options)
    {
        // A remote slide has no raw file: it is read direct, and reported so.
        var remote = IsRemote(slide);
        strategy ??= remote ? StorageStrategy.Direct : null;
        var stats = new StorageStats();
        var clock = Stopwatch.StartNew();
        // A remote slide's provider (its HTTP client) is this run's, disposed after the slide.
        using var provider = remote ? new ObjectStoreProvider(options.Storage with { Strategy = strategy ?? StorageStrategy.Direct }) : null;
        var source = provider is not null ? provider.Open(slide, stats) : Open(slide, strategy, storageClass, stats, options.Storage);
        // The slide's decoded-tile cache is off for the pipeline (tiles are read once) and small for the viewer.
        using var s = Slide.Open(source, new SlideOptions { Cache = options.Pattern == AccessPattern.Viewer ? new TileCache(64L << 20) : null });
        var openMs = clock.Elapsed.TotalMilliseconds;
        var run = options.Pattern == AccessPattern.Pipeline ? Pipeline(s, options, clock) : Viewer(s, options, clock);
        var requests = strategy is null ? run.Reads : stats.Requests;
        var fetched = strategy is null ? run.BytesRead : stats.BytesFetched;
        var needed = strategy is null ? run.BytesRead : stats.BytesRequested;
        return new StorageBenchResult(
            slide,
            options.Pattern.ToString().ToLowerInvariant(),
            strategy?.Name ?? "none (raw file)",
            storageClass?.Name ?? (remote ? "store" : "local-disk"),
            run.Tiles,
            run.Pixels / 1e6,
            run.Seconds,
            run.Pixels / 1e6 / run.Seconds,
            openMs,
            run.FirstTileMs,
            requests,
            stats.PrefetchRequests,
            fetched,
            needed,
            needed == 0 ? 0 : (double)fetched / needed,
            run.ViewportMeanMs,
            run.ViewportP95Ms,
            run.Complete);
    }

    /// <summary>
    /// Reads a DICOMweb series (<c>http(s)://…/studies/{S}/series/{S}</c>) in <paramref name="mode"/>: with the
    /// pipeline's prefetch hints (frames fetched ahead, <see cref="StorageOptions.DicomWebPrefetchFramesPerRequest"/>
    /// per request), on demand with multi-frame requests only, or one frame per request. Requests and bytes are the
    /// read's frame requests (the metadata and the open's transfer-syntax probes left out).
    /// </summary>
    public static StorageBenchResult RunDicomWeb(string url, DicomWebReadMode mode, StorageBenchOptions options)
    {
        var stats = new StorageStats();
        var storage = options.Storage with
        {
            DicomWebStats = stats,
            DicomWebFramesPerRequest = mode == DicomWebReadMode.FrameAtATime ? 1 : options.Storage.DicomWebFramesPerRequest,
        };
        var clock = Stopwatch.StartNew();
        using var provider = new ObjectStoreProvider(storage); // this run's HTTP client, disposed after the slide
        using var s = Slide.Open(url, new SlideOptions { Cache = options.Pattern == AccessPattern.Viewer ? new TileCache(64L << 20) : null, Sources = [provider] });
        var openMs = clock.Elapsed.TotalMilliseconds;
        var (openRequests, openBytes) = (stats.Requests, stats.BytesFetched);
        var o = mode == DicomWebReadMode.Prefetch ? options : options with { PrefetchAheadTiles = 0 };
        var run = o.Pattern == AccessPattern.Pipeline ? Pipeline(s, o, clock) : Viewer(s, o, clock);
        var fetched = stats.BytesFetched - openBytes;
        return new StorageBenchResult(url, options.Pattern.ToString().ToLowerInvariant(), DicomWebModeName(mode), "dicomweb", run.Tiles, run.Pixels / 1e6, run.Seconds,
            run.Pixels / 1e6 / run.Seconds, openMs, run.FirstTileMs, stats.Requests - openRequests, 0, fetched, fetched, 1, run.ViewportMeanMs, run.ViewportP95Ms, run.Complete);
    }

    /// <summary>A local DICOM series folder read raw, the baseline of the DICOMweb runs; requests are tile reads.</summary>
    public static StorageBenchResult RunFolder(string folder, StorageBenchOptions options)
    {
        var clock = Stopwatch.StartNew();
        using var s = Slide.Open(folder, new SlideOptions { Cache = options.Pattern == AccessPattern.Viewer ? new TileCache(64L << 20) : null });
        var openMs = clock.Elapsed.TotalMilliseconds;
        var run = options.Pattern == AccessPattern.Pipeline ? Pipeline(s, options with { PrefetchAheadTiles = 0 }, clock) : Viewer(s, options, clock);
        return new StorageBenchResult(folder, options.Pattern.ToString().ToLowerInvariant(), "none (raw files)", "local-disk", run.Tiles, run.Pixels / 1e6, run.Seconds,
            run.Pixels / 1e6 / run.Seconds, openMs, run.FirstTileMs, run.Reads, 0, run.BytesRead, run.BytesRead, 1, run.ViewportMeanMs, run.ViewportP95Ms, run.Complete);
    }

    /// <summary>The strategy name a DICOMweb run is reported under.</summary>
    public static string DicomWebModeName(DicomWebReadMode mode) => mode switch
    {
        DicomWebReadMode.Prefetch => "dicomweb-prefetch",
        DicomWebReadMode.MultiFrame => "dicomweb-multiframe",
        _ => "dicomweb-frame-at-a-time",
    };

    /// <summary>Whether <paramref name="slide"/> is a DICOMweb series URL: http(s) whose path ends in <c>/studies/{S}/series/{S}</c>.</summary>
    public static bool IsDicomWeb(string slide)
    {
        if (!Uri.TryCreate(slide, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0)
        {
            return false;
        }
        var segments = uri.AbsolutePath.TrimEnd('/').Split('/');
        var n = segments.Length;
        return n >= 5 && segments[n - 4] == "studies" && segments[n - 2] == "series" && segments[n - 3].Length > 0 && segments[n - 1].Length > 0;
    }

    /// <summary>Whether <paramref name="slide"/> is read through the store provider (store URIs and http(s) URLs alike), so runs over both report the same.</summary>
    public static bool IsRemote(string slide)
    {
        if (!slide.Contains("://", StringComparison.Ordinal) || !Uri.TryCreate(slide, UriKind.Absolute, out var uri) || uri.IsFile)
        {
            return false;
        }
        using var provider = new ObjectStoreProvider(new StorageOptions()); // which URIs it claims needs no options; no client is made
        return provider.CanOpen(uri);
    }

    private sealed record RunFigures(long Tiles, long Pixels, double Seconds, double FirstTileMs, bool Complete, long Reads = 0, long BytesRead = 0,
        double? ViewportMeanMs = null, double? ViewportP95Ms = null);

    private static RunFigures Pipeline(Slide slide, StorageBenchOptions o, Stopwatch clock)
    {
        var lvl = slide.Levels[o.Level];
        var total = lvl.TilesAcross * lvl.TilesDown;
        const int HintChunk = 64;
        (long, long) Tile(long i) => (i % lvl.TilesAcross, i / lvl.TilesAcross);
        IEnumerable<(long, long)> Tiles(long from, long to) { for (var i = from; i < Math.Min(to, total); i++) { yield return Tile(i); } }

        // The plan's first tiles are hinted before any read; then each chunk boundary hints the chunk that lies
        // PrefetchAheadTiles further on, as the pipeline's tile plan will.
        if (o.PrefetchAheadTiles > 0)
        {
            slide.PrefetchTiles(o.Level, Tiles(0, o.PrefetchAheadTiles));
        }
        long next = -1, pixels = 0, bytes = 0, firstTicks = 0;
        var start = clock.Elapsed;
        var deadline = start + o.MaxDuration;
        Exception? failure = null;
        var workers = Enumerable.Range(0, o.Threads).Select(_ => new Thread(() =>
        {
            var buffer = new byte[lvl.TileWidth * lvl.TileHeight * 4];
            try
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < total && clock.Elapsed < deadline)
                {
                    if (o.PrefetchAheadTiles > 0 && i % HintChunk == 0 && i + o.PrefetchAheadTiles < total)
                    {
                        var from = i + o.PrefetchAheadTiles;
                        slide.PrefetchTiles(o.Level, Tiles(Math.Max(from, o.PrefetchAheadTiles), from + HintChunk));
                    }
                    var (col, row) = Tile(i);
                    slide.ReadTile(o.Level, col, row, buffer);
                    Interlocked.CompareExchange(ref firstTicks, clock.Elapsed.Ticks, 0);
                    Interlocked.Add(ref bytes, slide.GetTileByteRange(o.Level, col, row)?.Length ?? 0);
                    Interlocked.Add(ref pixels, Math.Min(lvl.TileWidth, lvl.Width - (col * lvl.TileWidth)) * Math.Min(lvl.TileHeight, lvl.Height - (row * lvl.TileHeight)));
                }
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
                Interlocked.Exchange(ref next, total);
            }
        })
        { IsBackground = true }).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        if (failure is not null)
        {
            throw failure;
        }
        var done = Math.Min(Interlocked.Read(ref next), total);
        var seconds = (clock.Elapsed - start).TotalSeconds;
        return new RunFigures(done, pixels, seconds, TimeSpan.FromTicks(firstTicks).TotalMilliseconds, done >= total, done, bytes);
    }

    private static RunFigures Viewer(Slide slide, StorageBenchOptions o, Stopwatch clock)
    {
        var random = new Random(o.Seed);
        var buffer = new byte[o.ViewportWidth * o.ViewportHeight * 4];
        var latencies = new List<double>();
        long pixels = 0;
        double first = 0;
        var start = clock.Elapsed;
        for (var v = 0; v < o.Viewports && clock.Elapsed - start < o.MaxDuration; v++)
        {
            // Mostly the top levels a viewer shows first, sometimes full resolution.
            var level = random.Next(Math.Min(3, slide.Levels.Count));
            var lvl = slide.Levels[level];
            var x = (long)(random.NextDouble() * Math.Max(1, lvl.Width - o.ViewportWidth) * lvl.Downsample);
            var y = (long)(random.NextDouble() * Math.Max(1, lvl.Height - o.ViewportHeight) * lvl.Downsample);
            var t0 = clock.Elapsed;
            slide.ReadRegion(level, x, y, o.ViewportWidth, o.ViewportHeight, buffer);
            latencies.Add((clock.Elapsed - t0).TotalMilliseconds);
            if (v == 0)
            {
                first = clock.Elapsed.TotalMilliseconds;
            }
            pixels += (long)o.ViewportWidth * o.ViewportHeight;
        }
        latencies.Sort();
        var seconds = (clock.Elapsed - start).TotalSeconds;
        return new RunFigures(latencies.Count, pixels, seconds, first, latencies.Count == o.Viewports,
            ViewportMeanMs: latencies.Average(), ViewportP95Ms: latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.95) - 1)]);
    }
}
