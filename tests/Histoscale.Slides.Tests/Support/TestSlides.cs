using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.Support;

/// <summary>Small synthetic slides written once per test run by our own synthesiser (no external data).</summary>
public static class TestSlides
{
    private static readonly string Dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"histoscale-slides-{Environment.ProcessId}")).FullName;
    private static readonly Lock Gate = new();

    /// <summary>An Aperio-layout JPEG slide: levels, thumbnail, label, macro.</summary>
    public static string Svs => Get("small.svs", new SynthOptions { Width = 1500, Height = 1100, TileSize = 240, Layout = SynthLayout.Svs, Seed = 3 });

    /// <summary>A generic pyramidal TIFF with lossless LZW tiles.</summary>
    public static string LzwTiff => Get("lzw.tif", new SynthOptions { Width = 900, Height = 700, TileSize = 128, Layout = SynthLayout.Tiff, Compression = TiffWriteCompression.Lzw, Seed = 4 });

    /// <summary>A SubIFD pyramid with JPEG tiles.</summary>
    public static string SubIfd => Get("subifd.tif", new SynthOptions { Width = 1200, Height = 1000, TileSize = 256, Layout = SynthLayout.SubIfd, Seed = 5 });

    public static string Get(string name, SynthOptions options)
    {
        var path = Path.Combine(Dir, name);
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                SlideSynthesizer.Write(path + ".tmp", options with { MaxDegreeOfParallelism = 2 });
                File.Move(path + ".tmp", path);
            }
        }
        return path;
    }
}
