using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Tests.Planning;

public class TilePlannerTests
{
    // A 40× slide (0.25 µm/px) with 4× levels, 240-px tiles.
    private static readonly Level[] Levels =
    [
        new(0, 10000, 8000, 1, 240, 240),
        new(1, 2500, 2000, 4, 240, 240),
        new(2, 625, 500, 16, 240, 240),
    ];

    [Fact]
    public void UsesAMatchingLevelWithoutResampling()
    {
        var plan = TilePlanner.Create(Levels, 0.25, new TilePlanOptions { TileSize = 224, TargetMpp = 1.0 }, null);
        Assert.Equal(1, plan.Level);
        Assert.False(plan.Resampled);
        Assert.Equal(1.0, plan.EffectiveMpp!.Value, 9);
        Assert.Equal(12, plan.Columns); // ceil(2500 / 224)
        Assert.Equal(9, plan.Rows);     // ceil(2000 / 224)
        Assert.Equal(12 * 9, plan.Tiles.Count);
        Assert.False(plan.AlignedWithSlideTiles); // 224 on 240-px tiles
    }

    [Fact]
    public void ToleratesScannerResolutionsNearTheTarget()
    {
        var plan = TilePlanner.Create(Levels, 0.2495, new TilePlanOptions { TileSize = 224, TargetMpp = 0.25 }, null);
        Assert.Equal(0, plan.Level);
        Assert.False(plan.Resampled);
    }

    [Fact]
    public void ResamplesTheNextFinerLevelWhenNoLevelMatches()
    {
        var plan = TilePlanner.Create(Levels, 0.25, new TilePlanOptions { TileSize = 224, TargetMpp = 0.5 }, null);
        Assert.Equal(0, plan.Level);
        Assert.True(plan.Resampled);
        Assert.Equal(2.0, plan.Scale, 9);
        Assert.Equal(2.0, plan.Downsample, 9);
        Assert.Equal(23, plan.Columns); // ceil(5000 / 224)
        Assert.Contains(plan.Notes, n => n.Contains("resampled", StringComparison.Ordinal));
        Assert.Equal(new Footprint(448, 448, 448, 448), plan.FootprintOf(new PlannedTile(1, 1, 1)));
    }

    [Fact]
    public void UpsamplesLevelZeroWhenTheTargetIsFinerThanTheSlide()
    {
        var plan = TilePlanner.Create(Levels, 0.5, new TilePlanOptions { TileSize = 100, TargetMpp = 0.25 }, null);
        Assert.Equal(0, plan.Level);
        Assert.Equal(0.5, plan.Scale, 9);
    }

    [Fact]
    public void WithoutMppReadsLevelZero()
    {
        var plan = TilePlanner.Create(Levels, null, new TilePlanOptions { TileSize = 240 }, null);
        Assert.Equal(0, plan.Level);
        Assert.False(plan.Resampled);
        Assert.Null(plan.EffectiveMpp);
        Assert.True(plan.AlignedWithSlideTiles);
        Assert.NotEmpty(plan.Notes);
    }

    [Fact]
    public void OverlapSetsStrideAndCoversTheFarEdge()
    {
        var plan = TilePlanner.Create(Levels, 1.0, new TilePlanOptions { TileSize = 256, Overlap = 56, TargetMpp = 1.0 }, null);
        Assert.Equal(200, plan.Stride);
        Assert.Equal(50, plan.Columns); // 1 + ceil((10000 − 256) / 200)
        var last = plan.Tiles.Last(t => t.Row == 0);
        Assert.True((last.Column * 200) + 256 >= 10000);
        Assert.True(((last.Column - 1) * 200) + 256 < 10000);
        // Edge tiles report their footprint clipped to the slide.
        var f = plan.FootprintOf(last);
        Assert.Equal(10000, f.X + f.Width);
        Assert.True(f.Width < 256);
    }

    [Fact]
    public void OrderIsRasterAndStable()
    {
        var options = new TilePlanOptions { TileSize = 240, TargetMpp = 4.0 };
        var a = TilePlanner.Create(Levels, 0.25, options, null);
        var b = TilePlanner.Create(Levels, 0.25, options, null);
        Assert.Equal(a.Fingerprint(), b.Fingerprint());
        for (var i = 1; i < a.Tiles.Count; i++)
        {
            var (p, q) = (a.Tiles[i - 1], a.Tiles[i]);
            Assert.True(q.Row > p.Row || (q.Row == p.Row && q.Column == p.Column + 1));
        }
        Assert.True(a.AlignedWithSlideTiles); // level 2 has the same 240-px grid
        Assert.NotEqual(a.Fingerprint(), TilePlanner.Create(Levels, 0.25, options with { Overlap = 16 }, null).Fingerprint());
    }

    [Fact]
    public void KeepsOnlyTilesWithEnoughTissue()
    {
        // Mask 10×8 px over the slide (1000 level-0 px each); tissue in the left half.
        var mask = new byte[10 * 8];
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 5; x++)
            {
                mask[(y * 10) + x] = 1;
            }
        }
        var tissue = new TissueMask(mask, 10, 8, 1000, 1000);
        var plan = TilePlanner.Create(Levels, 0.25, new TilePlanOptions { TileSize = 250, TargetMpp = 4.0, MinTissue = 0.5 }, tissue);
        Assert.All(plan.Tiles, t => Assert.True(t.Tissue >= 0.5));
        Assert.All(plan.Tiles, t => Assert.True(plan.FootprintOf(t).X < 5000));
        // 250 px at 16× = 4000 level-0 px: column 0 is all tissue, column 1 a quarter, column 2 none; 2 rows.
        Assert.Equal(2, plan.Tiles.Count);
        var lenient = TilePlanner.Create(Levels, 0.25, new TilePlanOptions { TileSize = 250, TargetMpp = 4.0, MinTissue = 0.2 }, tissue);
        Assert.Equal(4, lenient.Tiles.Count);
        Assert.Contains(lenient.Tiles, t => t.Column == 1 && Math.Abs(t.Tissue - 0.25) < 1e-6);
    }

    [Theory]
    [InlineData(224, 224)]
    [InlineData(224, -1)]
    [InlineData(4, 0)]
    public void RejectsBadGeometry(int tile, int overlap)
    {
        Assert.Throws<PipelineConfigException>(() => TilePlanner.Create(Levels, 0.25, new TilePlanOptions { TileSize = tile, Overlap = overlap }, null));
    }
}
