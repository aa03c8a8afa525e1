using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;
using ImageMagick;

namespace Histoscale.Bench;

/// <summary>
/// <c>imaging SLIDE J2K_SLIDE [SECONDS]</c>: each imaging library on each path the product needs, on real tiles
/// (SLIDE: a synthesized JPEG slide; J2K_SLIDE: an Aperio 33003/33005 slide). One thread; each case runs for
/// SECONDS (default 1.5) three times, libraries interleaved, and the best pass counts. Quality columns: max channel difference against our
/// bit-exact decoder (JPEG decode), PNG round trip, PSNR of the encoded output decoded again by our decoder.
/// </summary>
public static class ImagingBench
{
    public static int Run(string slide, string j2kSlide, double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        var baseline = TileStreams.Load(slide, 400);
        var (tw, th) = (baseline.Width, baseline.Height);
        var rgbaTiles = baseline.Streams.Select(s => DecodeOurs(s, tw, th)).ToList();
        var rgbTiles = rgbaTiles.Take(200).Select(ToRgb).ToList();
        // Progressive copies of the same tiles: the kind of stream our decoder declines and the fallback decodes.
        var progressive = rgbTiles.Take(100).Select(t => Progressive(t, tw, th)).ToList();
        var (region, rw, rh) = Region(rgbaTiles, tw, th, 4);
        var j2k = Jpeg2000Tiles(j2kSlide, 200);
        Console.WriteLine(string.Create(c, $"slide={slide} tiles {tw}x{th}: {baseline.Streams.Count} baseline, {progressive.Count} progressive; region {rw}x{rh} RGBA (transparent border)"));
        Console.WriteLine(string.Create(c, $"j2k={j2kSlide}: {j2k.Streams.Count} codestreams {j2k.Width}x{j2k.Height}, compression {j2k.Compression}"));
        Console.WriteLine($"os={RuntimeInformation.OSDescription} arch={RuntimeInformation.ProcessArchitecture} cores={Environment.ProcessorCount} seconds/case={seconds}");
        Console.WriteLine($"{MagickNET.Version}; features: {MagickNET.Features.Trim()}; delegates: {MagickNET.Delegates.Trim()}");
        Console.WriteLine($"libvips {NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}");
        Console.WriteLine();
        Console.WriteLine($"{"candidate",-28} {"path",-26} {"ops/s",9} {"ops/cpu-s",9} {"MP/s",8} {"MP/cpu-s",8}  check");

        var only = Environment.GetEnvironmentVariable("IMAGING_CANDIDATES")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var libs = ImagingCandidates.All.Where(d => only is null || only.Any(o => d.Name.Contains(o, StringComparison.OrdinalIgnoreCase))).ToList();
        var buffer = new byte[Math.Max(tw * th, j2k.Width * j2k.Height) * 4];
        var paths = new List<PathCase>
        {
            new("jpeg decode, baseline", tw * th, baseline.Streams.Count, 1,
                lib => i => lib.DecodeJpeg(baseline.Streams[i], tw, th, buffer),
                lib => $"max |diff| vs ours {MaxDiff(lib, baseline.Streams, tw, th)}"),
            new("jpeg decode, progressive", tw * th, progressive.Count, 1,
                lib => i => lib.DecodeJpeg(progressive[i], tw, th, buffer),
                lib => $"max |diff| vs Magick's decode {MaxDiffProgressive(lib, progressive, tw, th)}"),
            new($"jpeg2000 decode ({j2k.Compression})", j2k.Width * j2k.Height, j2k.Streams.Count, 1,
                lib => i => lib.DecodeJpeg2000(j2k.Streams[i], j2k.Width, j2k.Height, j2k.Compression, buffer),
                lib => "decodes"),
            new($"png write {rw}x{rh} RGBA", rw * rh, 1, 1,
                lib => _ => lib.WritePng(region, rw, rh),
                lib => $"{lib.WritePng(region, rw, rh).Length} bytes, round trip {(PngRoundTrips(lib, region, rw, rh) ? "exact" : "DIFFERS")}"),
            new($"jpeg write {rw}x{rh} Q90", rw * rh, 1, 1,
                lib => _ => lib.WriteJpeg(region, rw, rh),
                lib => string.Create(c, $"{lib.WriteJpeg(region, rw, rh).Length} bytes, PSNR {Psnr(lib.WriteJpeg(region, rw, rh), region, rw, rh):F1} dB")),
            new("tile encode 240 Q80 4:2:0", tw * th, rgbTiles.Count, 1,
                lib => i => lib.EncodeTile(rgbTiles[i], tw, th),
                lib => string.Create(c, $"mean {rgbTiles.Sum(t => (long)lib.EncodeTile(t, tw, th).Length) / rgbTiles.Count} bytes/tile, PSNR {Psnr(rgbTiles.Select(t => (lib.EncodeTile(t, tw, th), Widen(t))), tw, th):F2} dB")),
            // Synthesis encodes tiles on every core: does the library scale, or serialise somewhere inside?
            new("tile encode, 2 threads", tw * th, rgbTiles.Count, 16,
                lib => i => Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 2 }, k => lib.EncodeTile(rgbTiles[(i + k) % rgbTiles.Count], tw, th)),
                lib => "16 tiles a call"),
        };
        foreach (var path in paths)
        {
            Measure(path, libs, seconds);
            Console.WriteLine();
        }
        return 0;
    }

    private sealed record PathCase(string Name, long PixelsPerOp, int Count, int OpsPerCall, Func<IImagingCandidate, Action<int>> Op, Func<IImagingCandidate, string> Check);

    /// <summary>
    /// Times every library on one path for about <paramref name="seconds"/> a pass, three passes with the libraries
    /// interleaved (so a load change on a shared machine hits all of them alike); the best pass counts.
    /// </summary>
    private static void Measure(PathCase path, List<IImagingCandidate> libs, double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        var able = new List<IImagingCandidate>();
        foreach (var lib in libs)
        {
            try
            {
                path.Op(lib)(0); // warm-up: native load, JIT
                able.Add(lib);
            }
            catch (Exception ex) when (ex is NotSupportedException or InvalidDataException or CodecException or MagickException or NetVips.VipsException)
            {
                Console.WriteLine($"{lib.Name,-28} {path.Name,-26} {"-",9} {"-",9} {"-",8} {"-",8}  not available: {ex.Message}");
            }
        }
        var best = new double[able.Count];
        var bestCpu = new double[able.Count];
        for (var pass = 0; pass < 3; pass++)
        {
            for (var l = 0; l < able.Count; l++)
            {
                var op = path.Op(able[l]);
                var ops = 0;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed.TotalSeconds < seconds)
                {
                    op(ops % path.Count);
                    ops++;
                }
                best[l] = Math.Max(best[l], ops * path.OpsPerCall / sw.Elapsed.TotalSeconds);
                bestCpu[l] = Math.Max(bestCpu[l], ops * path.OpsPerCall / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            }
        }
        for (var l = 0; l < able.Count; l++)
        {
            // Ops per CPU-second (all threads, native ones included) is steadier than wall time on a shared machine.
            Console.WriteLine(string.Create(c, $"{able[l].Name,-28} {path.Name,-26} {best[l],9:F1} {bestCpu[l],9:F1} {best[l] * path.PixelsPerOp / 1e6,8:F1} {bestCpu[l] * path.PixelsPerOp / 1e6,8:F1}  {path.Check(able[l])}"));
        }
    }

    private static byte[] DecodeOurs(byte[] stream, int w, int h)
    {
        var rgba = new byte[w * h * 4];
        if (!JpegDecoder.TryDecode(stream, w, h, rgba, w * 4))
        {
            JpegCodec.DecodeStream(stream, w, h, rgba, w * 4);
        }
        return rgba;
    }

    private static byte[] ToRgb(byte[] rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int s = 0, d = 0; s < rgba.Length; s += 4, d += 3)
        {
            rgb[d] = rgba[s];
            rgb[d + 1] = rgba[s + 1];
            rgb[d + 2] = rgba[s + 2];
        }
        return rgb;
    }

    private static byte[] Widen(byte[] rgb)
    {
        var rgba = new byte[rgb.Length / 3 * 4];
        for (int s = 0, d = 0; s < rgb.Length; s += 3, d += 4)
        {
            rgba[d] = rgb[s];
            rgba[d + 1] = rgb[s + 1];
            rgba[d + 2] = rgb[s + 2];
            rgba[d + 3] = 255;
        }
        return rgba;
    }

    private static byte[] Progressive(byte[] rgb, int w, int h)
    {
        using var image = new MagickImage(rgb, new PixelReadSettings((uint)w, (uint)h, StorageType.Char, "RGB"));
        image.Quality = 80;
        image.Settings.Interlace = Interlace.Jpeg;
        image.Settings.ColorType = ColorType.TrueColor;
        return image.ToByteArray(MagickFormat.Jpeg);
    }

    /// <summary>A side × side block of decoded tiles with a transparent 32-px border (as a region past the slide edge).</summary>
    private static (byte[] Pixels, int Width, int Height) Region(List<byte[]> tiles, int tw, int th, int side)
    {
        var (w, h) = (tw * side, th * side);
        var region = new byte[w * h * 4];
        for (var t = 0; t < side * side; t++)
        {
            var (tx, ty) = (t % side, t / side);
            var tile = tiles[(t * 7) % tiles.Count];
            for (var y = 0; y < th; y++)
            {
                tile.AsSpan(y * tw * 4, tw * 4).CopyTo(region.AsSpan((((ty * th) + y) * w + (tx * tw)) * 4));
            }
        }
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                if (x < 32 || y < 32 || x >= w - 32 || y >= h - 32)
                {
                    region.AsSpan(((y * w) + x) * 4, 4).Clear();
                }
            }
        }
        return (region, w, h);
    }

    private sealed record J2kTiles(List<byte[]> Streams, int Width, int Height, int Compression);

    private static J2kTiles Jpeg2000Tiles(string path, int max)
    {
        using var source = new LocalFileSource(path);
        var tiff = TiffFile.TryOpen(source) ?? throw new InvalidDataException("not a TIFF");
        var dir = tiff.Directories[0];
        var offsets = dir.GetLongs(TiffTag.TileOffsets);
        var counts = dir.GetLongs(TiffTag.TileByteCounts);
        var streams = new List<byte[]>();
        var step = Math.Max(1, offsets.Length / max);
        for (var i = 0; i < offsets.Length && streams.Count < max; i += step)
        {
            var raw = new byte[counts[i]];
            tiff.ReadExactly(offsets[i], raw, "tile");
            streams.Add(raw);
        }
        return new J2kTiles(streams, (int)dir.GetLong(TiffTag.TileWidth)!, (int)dir.GetLong(TiffTag.TileLength)!, (int)dir.GetLong(TiffTag.Compression)!);
    }

    private static int MaxDiff(IImagingCandidate lib, List<byte[]> streams, int w, int h)
    {
        var max = 0;
        var theirs = new byte[w * h * 4];
        foreach (var s in streams.Take(100))
        {
            lib.DecodeJpeg(s, w, h, theirs);
            max = Math.Max(max, MaxDiff(DecodeOurs(s, w, h), theirs));
        }
        return max;
    }

    private static int MaxDiffProgressive(IImagingCandidate lib, List<byte[]> progressive, int w, int h)
    {
        // Against Magick's own decode of the same progressive stream: all are libjpeg-turbo, so 0 means same pixels.
        var max = 0;
        var theirs = new byte[w * h * 4];
        var magick = new byte[w * h * 4];
        foreach (var s in progressive.Take(20))
        {
            lib.DecodeJpeg(s, w, h, theirs);
            JpegCodec.DecodeStream(s, w, h, magick, w * 4);
            max = Math.Max(max, MaxDiff(magick, theirs));
        }
        return max;
    }

    private static int MaxDiff(byte[] a, byte[] b)
    {
        var max = 0;
        for (var i = 0; i < a.Length; i += 4)
        {
            for (var ch = 0; ch < 3; ch++)
            {
                max = Math.Max(max, Math.Abs(a[i + ch] - b[i + ch]));
            }
        }
        return max;
    }

    private static bool PngRoundTrips(IImagingCandidate lib, byte[] rgba, int w, int h)
    {
        using var image = new MagickImage(lib.WritePng(rgba, w, h));
        using var pixels = image.GetPixelsUnsafe();
        return image.HasAlpha && pixels.ToByteArray("RGBA")!.AsSpan().SequenceEqual(rgba);
    }

    /// <summary>PSNR over RGB of opaque pixels between a JPEG (decoded by our decoder or libjpeg) and the source.</summary>
    private static double Psnr(byte[] jpeg, byte[] sourceRgba, int w, int h) => Psnr([(jpeg, sourceRgba)], w, h);

    /// <summary>One PSNR over all pairs (a blank tile that re-encodes exactly must not make the figure infinite).</summary>
    private static double Psnr(IEnumerable<(byte[] Jpeg, byte[] SourceRgba)> pairs, int w, int h)
    {
        double sum = 0;
        long n = 0;
        foreach (var (jpeg, source) in pairs)
        {
            var decoded = DecodeOurs(jpeg, w, h);
            for (var i = 0; i < decoded.Length; i += 4)
            {
                if (source[i + 3] == 0)
                {
                    continue;
                }
                for (var ch = 0; ch < 3; ch++)
                {
                    var d = decoded[i + ch] - source[i + ch];
                    sum += d * d;
                    n++;
                }
            }
        }
        return 10 * Math.Log10(255.0 * 255.0 / (sum / n));
    }
}
