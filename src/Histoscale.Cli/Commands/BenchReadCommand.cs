using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Histoscale.Slides;
using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale bench read SLIDE [--threads N] [--json]</c>: decodes every level-0 tile once, as the pipeline does,
/// on N threads pulling tiles in raster order. Pixels land as RGBA (RGB plus one padding byte, the layout the
/// decoder writes natively — Pillow's "RGB" in the peer limit script is the same 4-byte layout).
/// <c>--jpeg-simd auto|avx2|vector128|scalar</c> opens the slide with that decoder path
/// (<see cref="SlideOptions.JpegSimd"/>), so the paths can be compared on one machine.
/// </summary>
public static class BenchReadCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI" };
        var threads = new Option<int>("--threads") { Description = "Decode threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var level = new Option<int>("--level") { Description = "Level to read", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var jpegSimd = new Option<JpegSimd?>("--jpeg-simd")
        {
            Description = "Measure one JPEG decoder path (auto, avx2, vector128, scalar; one the CPU lacks falls back to the best below it): "
                + "the slide is opened with it (SlideOptions.JpegSimd), for A/B runs of the kernels",
        };
        var command = new Command("read", "Decode every tile of a level and report throughput") { slideArg, threads, level, json, jpegSimd };
        command.SetAction((ParseResult r) =>
        {
            var n = r.GetValue(threads);
            if (n is < 1 or > 256)
            {
                throw new InputException($"--threads {n} must be between 1 and 256");
            }
            var simd = r.GetValue(jpegSimd);
            // DICOMweb slides: count the WADO-RS requests (one provider for this run, with counters).
            var host = HostContext.FromEnvironment();
            var web = new Histoscale.Storage.Strategies.StorageStats();
            var sources = new Histoscale.Storage.ObjectStoreProvider(host.Storage with { DicomWebStats = web });
            using var slide = Slide.Open(r.GetValue(slideArg)!, host.Slides with { Cache = null, JpegSimd = simd ?? JpegSimd.Auto, Sources = [sources] });
            var lvl = r.GetValue(level);
            if (lvl < 0 || lvl >= slide.Levels.Count)
            {
                throw new InputException($"{slide.Source}: level {lvl} does not exist (the slide has {slide.Levels.Count} levels)");
            }
            var opened = web.Requests;
            var result = Run(slide, lvl, n) with { JpegSimd = simd is null ? null : JpegDecoder.Resolve(simd.Value).ToString().ToLowerInvariant() };
            if (web.Requests > 0)
            {
                result = result with { DicomWebRequests = web.Requests - opened, DicomWebBytes = web.BytesFetched };
            }
            var o = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                o.WriteLine(JsonSerializer.Serialize(result, CliJson.Indented));
            }
            else
            {
                o.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "histoscale threads={0} tiles={1} megapixels={2:F1} seconds={3:F2} MP/s={4:F1} tiles/s={5:F0} peakRSS={6} MB{7}{8}",
                    n, result.Tiles, result.Megapixels, result.Seconds, result.MegapixelsPerSecond, result.TilesPerSecond, result.PeakRssBytes / (1024 * 1024),
                    result.JpegSimd is null ? "" : $" jpeg-simd={result.JpegSimd}",
                    result.DicomWebRequests is { } requests ? $" dicomweb-requests={requests}" : ""));
            }
            return 0;
        });
        return command;
    }

    public static BenchReadResult Run(Slide slide, int level, int threads)
    {
        var lvl = slide.Levels[level];
        var total = lvl.TilesAcross * lvl.TilesDown;
        long next = -1;
        long pixels = 0;
        Exception? failure = null;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var buffer = new byte[lvl.TileWidth * lvl.TileHeight * 4];
            long mine = 0;
            try
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < total)
                {
                    var col = i % lvl.TilesAcross;
                    var row = i / lvl.TilesAcross;
                    slide.ReadTile(level, col, row, buffer);
                    mine += Math.Min(lvl.TileWidth, lvl.Width - (col * lvl.TileWidth)) * Math.Min(lvl.TileHeight, lvl.Height - (row * lvl.TileHeight));
                }
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
                Interlocked.Exchange(ref next, total); // stop the others
            }
            Interlocked.Add(ref pixels, mine);
        })
        { IsBackground = true }).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        sw.Stop();
        if (failure is not null)
        {
            throw failure;
        }
        var seconds = sw.Elapsed.TotalSeconds;
        return new BenchReadResult(total, pixels / 1e6, seconds, pixels / 1e6 / seconds, total / seconds, ProcessStats.PeakRssBytes(), threads);
    }

    public sealed record BenchReadResult(long Tiles, double Megapixels, double Seconds, double MegapixelsPerSecond, double TilesPerSecond, long PeakRssBytes, int Threads,
        string? JpegSimd = null, long? DicomWebRequests = null, long? DicomWebBytes = null);
}
