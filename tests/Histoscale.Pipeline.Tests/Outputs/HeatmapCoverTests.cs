using Histoscale.Pipeline.Outputs;

namespace Histoscale.Pipeline.Tests.Outputs;

/// <summary><see cref="HeatmapRegistration.Cover"/>: the fewest heatmap pixels that cover the slide, and their µm/px.</summary>
public class HeatmapCoverTests
{
    [Theory]
    [InlineData(7000, 5200, 16.0, 438, 325)] // the slide: 437.5 → 438; 325 exactly stays 325
    [InlineData(1500, 1100, 8.0, 188, 138)]
    [InlineData(2300, 1700, 96 * (0.5 / 0.33) / 9, 143, 106)] // a non-integer scale from resampling
    [InlineData(10, 10, 448.0, 1, 1)] // a slide smaller than one heatmap pixel
    public void CoversTheSlideWithinOnePixel(long slideWidth, long slideHeight, double scale, int width, int height)
    {
        var r = HeatmapRegistration.Cover(slideWidth, slideHeight, scale, 100_000, 100_000, 0.25, 0.25);
        Assert.Equal((width, height), (r.Width, r.Height));
        Assert.InRange((r.Width * scale) - slideWidth, -1e-6, scale);
        Assert.InRange((r.Height * scale) - slideHeight, -1e-6, scale);
        Assert.Equal([0.0, 0.0], r.Origin);
        Assert.Equal(0.25 * scale, r.MppX);
    }

    [Fact]
    public void AQuotientOffAWholeNumberOnlyByRoundingIsThatNumber()
    {
        // 350 / 0.35 is 1000.0000000000001 in binary: 1000 pixels of 0.35 cover 350, not 1001.
        Assert.True(350 / 0.35 > 1000);
        Assert.Equal(1000, HeatmapRegistration.PixelsToCover(350, 0.35));
        Assert.Equal(1003, HeatmapRegistration.PixelsToCover(351, 0.35));
    }

    [Fact]
    public void NeverWiderThanWhatWasPainted() =>
        Assert.Equal(40, HeatmapRegistration.Cover(7000, 5200, 16, 40, 30, null, null).Width);

    [Fact]
    public void MicronsPerPixelFollowEachAxisAndFallBackToTheOther()
    {
        var both = HeatmapRegistration.Cover(1000, 1000, 10, 100, 100, 0.25, 0.5);
        Assert.Equal((2.5, 5.0), (both.MppX!.Value, both.MppY!.Value));
        var one = HeatmapRegistration.Cover(1000, 1000, 10, 100, 100, null, 0.5);
        Assert.Equal((5.0, 5.0), (one.MppX!.Value, one.MppY!.Value));
        var none = HeatmapRegistration.Cover(1000, 1000, 10, 100, 100, null, 0);
        Assert.Null(none.MppX);
        Assert.Null(none.MppY);
    }
}
