using Histoscale.Pipeline.Quality;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Pipeline.Tests.Quality;

/// <summary>
/// Synthesized slides (3072 px at 1 µm/px: 3 mm square, 256 px tiles) with known artifacts and their clean twin (the
/// same seed without them), written once for every quality-control test and assessed once each.
/// </summary>
public sealed class QualityFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public const int Size = 3072;
    public const int Seed = 5;

    /// <summary>Gaussian blur of three strengths (σ 1.5, 3 and 6 px = µm), tile-aligned rectangles over tissue.</summary>
    public static readonly SynthArtifact[] Blurs =
    [
        new SynthBlur(768, 768, 768, 512, 1.5),
        new SynthBlur(1792, 768, 512, 768, 3),
        new SynthBlur(768, 1792, 768, 512, 6),
    ];

    /// <summary>Strokes of blue, green and black ink 0.1, 0.4 and 1 mm wide (100, 400, 1000 px at 1 µm/px).</summary>
    public static readonly SynthArtifact[] Pens =
    [
        new SynthPen([(250, 2800), (1500, 2650), (2850, 2800)], 100, (40, 80, 210)),
        new SynthPen([(2750, 250), (2600, 1400)], 400, (70, 170, 90)),
        new SynthPen([(400, 300), (1300, 700)], 1000, (45, 45, 50)),
    ];

    /// <summary>Two folds: tissue lying over tissue 600 and 450 px away.</summary>
    public static readonly SynthArtifact[] Folds =
    [
        new SynthFold(900, 1000, 900, 700, 600, 250),
        new SynthFold(1900, 1900, 600, 500, -450, 300),
    ];

    public QualityFixture()
    {
        Clean = Write("clean", []);
        Blur = Write("blur", Blurs);
        Pen = Write("pen", Pens);
        Fold = Write("fold", Folds);
    }

    public string Directory => _dir.Path;

    public (string Path, SlideQuality Quality) Clean { get; }
    public (string Path, SlideQuality Quality) Blur { get; }
    public (string Path, SlideQuality Quality) Pen { get; }
    public (string Path, SlideQuality Quality) Fold { get; }

    private (string, SlideQuality) Write(string name, SynthArtifact[] artifacts)
    {
        var path = _dir[name + ".tif"];
        SlideSynthesizer.Write(path, new SynthOptions
        {
            Width = Size,
            Height = Size,
            TileSize = 256,
            Quality = 90,
            Layout = SynthLayout.Tiff,
            MicronsPerPixel = 1.0,
            Seed = Seed,
            Artifacts = artifacts,
        });
        using var slide = Slide.Open(path);
        return (path, QualityControl.Assess(slide, new QualityOptions()));
    }

    public void Dispose() => _dir.Dispose();
}
