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
/// <c>--jpeg-simd auto|avx2|vector128|scalar</c> measures one of the JPEG decoder's kernel paths instead: the level's
/// tiles are read from the TIFF and decoded through a <see cref="JpegCodec"/> made for that path (the same work
/// as a tile read, without Slide's bookkeeping), so the paths can be compared on one machine.
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
                + "decodes the level's JPEG tiles straight from the TIFF with it, for A/B runs of the kernels",
        };
        var command = new Command("read", "Decode every tile of a level and report throughput") { slideArg, threads, level, json, jpegSimd };
        command.SetAction((ParseResult r) =>
        {
            var n = r.GetValue(threads);
            if (n is < 1 or > 256)
            {
                throw new InputException($"--threads {n} must be between 1 and 256");
            }
            using var slide = Slide.Open(r.GetValue(slideArg)!, HostContext.FromEnvironment().Slides with { Cache = null });
            var lvl = r.GetValue(level);
            if (lvl < 0 || lvl >= slide.Levels.Count)
            {
                throw new InputException($"{slide.Source}: level {lvl} does not exist (the slide has {slide.Levels.Count} levels)");
            }
            var simd = r.GetValue(jpegSimd);
            var result = simd is null ? Run(slide, lvl, n) : RunJpeg(slide, lvl, n, new JpegCodec(simd.Value));
            var o = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                o.WriteLine(JsonSerializer.Serialize(result, CliJson.Indented));
            }
            else
            {
                o.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "histoscale threads={0} tiles={1} megapixels={2:F1} seconds={3:F2} MP/s={4:F1} tiles/s={5:F0} peakRSS={6} MB{7}",
                    n, result.Tiles, result.Megapixels, result.Seconds, result.MegapixelsPerSecond, result.TilesPerSecond, result.PeakRssBytes / (1024 * 1024),
                    result.JpegSimd is null ? "" : $" jpeg-simd={result.JpegSimd}"));
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

    /// <summary>
    /// <see cref="Run"/> with every tile decoded by <paramref name="codec"/>: the stored bytes are read from the level's
    /// TIFF directory and handed to the codec as the reader would, tiles pulled in raster order by N threads.
    /// </summary>
    public static BenchReadResult RunJpeg(Slide slide, int level, int threads, JpegCodec codec)
    {
        var lvl = slide.Levels[level];
        using var source = ByteSources.Open(slide.Source);
        var file = TiffFile.TryOpen(source) ?? throw new InputException($"{slide.Source}: --jpeg-simd needs a TIFF slide");
        var dir = file.Directories.FirstOrDefault(d => d.IsTiled && d.Width == lvl.Width && d.Height == lvl.Height
            && d.GetLong(TiffTag.Compression) == TiffCompression.Jpeg)
            ?? throw new InputException($"{slide.Source}: level {level} is not a tiled JPEG TIFF directory, which --jpeg-simd measures");
        var image = TiffImage.Open(dir, level);
        if (image.TileWidth != lvl.TileWidth || image.TileHeight != lvl.TileHeight)
        {
            throw new InputException($"{slide.Source}: level {level}'s tiles are not the TIFF directory's");
        }
        // As TiffImage describes a JPEG directory to its codec (only Photometric and JPEGTables matter to JpegCodec).
        var spp = (int)(dir.GetLong(TiffTag.SamplesPerPixel) ?? 1);
        var photometric = (int)(dir.GetLong(TiffTag.Photometric) ?? (spp >= 3 ? TiffPhotometric.Rgb : TiffPhotometric.MinIsBlack));
        var context = new CodecContext(file.Name, TiffCompression.Jpeg, photometric, spp, 8, 1, false, dir.GetBytes(TiffTag.JpegTables));
        var total = lvl.TilesAcross * lvl.TilesDown;
        long next = -1;
        long pixels = 0;
        Exception? failure = null;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var rgba = new byte[lvl.TileWidth * lvl.TileHeight * 4];
            var stored = Array.Empty<byte>();
            long mine = 0;
            try
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < total)
                {
                    var col = i % lvl.TilesAcross;
                    var row = i / lvl.TilesAcross;
                    if (image.StoredTileRange(col, row) is { } range)
                    {
                        if (stored.Length < range.Length)
                        {
                            stored = new byte[range.Length];
                        }
                        file.ReadExactly(range.Offset, stored.AsSpan(0, range.Length), "tile");
                        codec.Decode(stored.AsSpan(0, range.Length), lvl.TileWidth, image.BlockRows(row), context, rgba, lvl.TileWidth * 4);
                    }
                    mine += Math.Min(lvl.TileWidth, lvl.Width - (col * lvl.TileWidth)) * Math.Min(lvl.TileHeight, lvl.Height - (row * lvl.TileHeight));
                }
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
                Interlocked.Exchange(ref next, total);
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
        return new BenchReadResult(total, pixels / 1e6, seconds, pixels / 1e6 / seconds, total / seconds, ProcessStats.PeakRssBytes(), threads,
            codec.Simd.ToString().ToLowerInvariant());
    }

    /// <param name="JpegSimd">The decoder path measured with <c>--jpeg-simd</c> (after fallback); null for a plain run.</param>
    public sealed record BenchReadResult(long Tiles, double Megapixels, double Seconds, double MegapixelsPerSecond, double TilesPerSecond, long PeakRssBytes, int Threads,
        string? JpegSimd = null);
}
