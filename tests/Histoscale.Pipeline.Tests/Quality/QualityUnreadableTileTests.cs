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
}
