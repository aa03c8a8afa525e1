using Histoscale.Pipeline.Quality;
using Histoscale.Slides;
using Histoscale.Pipeline.Tests.Support;

namespace Histoscale.Pipeline.Tests.Quality;

/// <summary>
/// A corrupt tile of the level quality control reads its mask image from is background and reported (count and
/// cause), as tissue detection treats it; only more such tiles than the bad-tile limit fail the slide.
/// </summary>
public class QualityUnreadableTileTests
{
    [Fact]
    public void ACorruptMaskLevelTileIsBackgroundAndReported()
    {
        using var dir = new TempDir();
        var path = dir["damaged.svs"];
        var healthyPath = TestData.Slide(seed: 6, width: 3000, height: 2200);
        var bytes = File.ReadAllBytes(healthyPath);
        QualityOptions options;
        using (var healthy = Slide.Open(healthyPath))
        {
            // Level 1 tile (1,0) loses its JPEG start-of-image marker; the mask is level 1 at its own size.
            var range = healthy.GetTileByteRange(1, 1, 0)!.Value;
            bytes[range.Offset] = 0;
            bytes[range.Offset + 1] = 0;
            options = new QualityOptions { MaskMpp = healthy.MppX!.Value * healthy.Width / healthy.Levels[1].Width, Parallelism = 2, MaxFocusSamples = 50 };
            Assert.Equal(0, QualityControl.Assess(healthy, options).UnreadableTiles);
        }
        File.WriteAllBytes(path, bytes);
        using var slide = Slide.Open(path);

        var quality = QualityControl.Assess(slide, options with { MaxBadTiles = 1 });
        Assert.Equal(1, quality.UnreadableTiles);
        var cause = Assert.Single(quality.UnreadableCauses);
        Assert.Contains("damaged.svs", cause);
        Assert.Contains("level 1 tile (1,0)", cause);

        var ex = Assert.Throws<SlideException>(() => QualityControl.Assess(slide, options with { MaxBadTiles = 0 }));
        Assert.Contains("more than --max-bad-tiles allows (0)", ex.Message);
        Assert.Contains("level 1 tile (1,0)", ex.Message);
    }

    /// <summary>
    /// A corrupt full-resolution tile that focus measurement samples is left out of the focus measure, as before, but
    /// now counted and named (qc.json and run.json's qc), and held to the bad-tile limit of the samples read, as
    /// infer holds its own tiles.
    /// </summary>
    [Fact]
    public void ACorruptFocusSampleIsCountedNamedAndHeldToTheLimit()
    {
        using var dir = new TempDir();
        var healthyPath = TestData.Slide(seed: 6, width: 3000, height: 2200);
        var options = new QualityOptions { Parallelism = 2, MaxFocusSamples = 2000 };
        int col, row, across;
        using (var healthy = Slide.Open(healthyPath))
        {
            var clean = QualityControl.Assess(healthy, options);
            Assert.Equal(0, clean.FocusUnreadableTiles);
            // The level-0 tile with the most tissue: every tissue tile is a focus sample on a slide this small.
            var tissue = Histoscale.Pipeline.Tissue.TissueDetector.Detect(healthy);
            var l0 = healthy.Levels[0];
            across = (int)l0.TilesAcross;
            (col, row) = Enumerable.Range(0, (int)(l0.TilesAcross * l0.TilesDown))
                .Select(i => (C: i % (int)l0.TilesAcross, R: i / (int)l0.TilesAcross))
                .MaxBy(t => tissue.Fraction(t.C * l0.TileWidth, t.R * l0.TileHeight, l0.TileWidth, l0.TileHeight));
        }
        var path = dir["focus.svs"];
        var bytes = File.ReadAllBytes(healthyPath);
        Histoscale.Slides.Tests.Support.TileDamage.ScrambleJpegScan(bytes, (row * across) + col, seed: 2);
        File.WriteAllBytes(path, bytes);
        using var slide = Slide.Open(path);

        var quality = QualityControl.Assess(slide, options with { MaxBadTiles = 1 });
        Assert.Equal(0, quality.UnreadableTiles); // the mask image comes from another level
        Assert.Equal(1, quality.FocusUnreadableTiles);
        Assert.Contains($"level 0 tile ({col},{row})", Assert.Single(quality.FocusUnreadableCauses));

        var ex = Assert.Throws<SlideException>(() => QualityControl.Assess(slide, options with { MaxBadTiles = 0 }));
        Assert.Contains("full-resolution focus tiles could not be read, more than --max-bad-tiles allows (0)", ex.Message);
        Assert.Contains($"level 0 tile ({col},{row})", ex.Message);

        // Under the default 1 %, fewer than 100 samples would allow none: as a percentage the allowance is at least
        // one focus sample. 0 % still allows none.
        var byDefault = QualityControl.Assess(slide, options);
        Assert.InRange(byDefault.FocusSamples, 1, 99);
        Assert.Equal(1, byDefault.FocusUnreadableTiles);
        Assert.Contains("allows (0)", Assert.Throws<SlideException>(() => QualityControl.Assess(slide, options with { MaxBadTileFraction = 0 })).Message);
    }
}
