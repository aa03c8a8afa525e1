using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Archive.Tests.Support;

/// <summary>
/// Slides made for the tests (never /work/shared): collection "alpha" holds an Aperio-style SVS (label, macro,
/// 4x levels), collection "beta" a generic pyramidal TIFF (2x levels) and a copy with one level-0 tile's JPEG cut
/// short; the results folder holds an overlay for alpha's slide; a symbolic link in alpha points outside it.
/// </summary>
public sealed class ArchiveData : IDisposable
{
    public ArchiveData()
    {
        Root = Path.Combine(Path.GetTempPath(), "hs-archive-" + Guid.NewGuid().ToString("N")[..12]);
        Alpha = Directory.CreateDirectory(Path.Combine(Root, "alpha")).FullName;
        Beta = Directory.CreateDirectory(Path.Combine(Root, "beta")).FullName;
        Results = Directory.CreateDirectory(Path.Combine(Root, "results")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(Root, "outside")).FullName;
        SlideSynthesizer.Write(Path.Combine(Alpha, "a.svs"), new SynthOptions { Width = 1200, Height = 900, TileSize = 240, Layout = SynthLayout.Svs, Seed = 3, MaxDegreeOfParallelism = 2 });
        SlideSynthesizer.Write(Path.Combine(Beta, "b.tif"), new SynthOptions { Width = 1024, Height = 768, TileSize = 256, Layout = SynthLayout.Tiff, Seed = 4, MaxDegreeOfParallelism = 2 });
        SlideSynthesizer.Write(Path.Combine(Results, "a.heatmap.tif"), new SynthOptions { Width = 300, Height = 225, TileSize = 128, Layout = SynthLayout.Tiff, Seed = 5, MaxDegreeOfParallelism = 2 });
        SlideSynthesizer.Write(Path.Combine(outside, "secret.tif"), new SynthOptions { Width = 256, Height = 256, TileSize = 128, Layout = SynthLayout.Tiff, Seed = 6, MaxDegreeOfParallelism = 2 });
        File.CreateSymbolicLink(Path.Combine(Alpha, "escape.tif"), Path.Combine(outside, "secret.tif"));
        var corrupt = Path.Combine(Beta, "corrupt.tif");
        File.Copy(Path.Combine(Beta, "b.tif"), corrupt);
        using (var slide = Slide.Open(corrupt))
        {
            CorruptRange = slide.GetTileByteRange(0, 0, 0)!.Value;
        }
        using (var stream = new FileStream(corrupt, FileMode.Open, FileAccess.Write))
        {
            // Cut the tile's entropy-coded data short: its second half (end marker included) becomes zeros.
            var half = CorruptRange.Length / 2;
            stream.Position = CorruptRange.Offset + half;
            stream.Write(new byte[CorruptRange.Length - half]);
        }
    }

    public string Root { get; }

    public string Alpha { get; }

    public string Beta { get; }

    public string Results { get; }

    public Slides.Sources.ByteRange CorruptRange { get; }

    public IReadOnlyList<ArchiveCollection> Collections => [new("alpha", Alpha), new("beta", Beta)];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
