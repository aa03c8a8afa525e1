using Histoscale.Pipeline.Tests.Support;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Tests.Tissue;

public class TissueDetectorTests
{
    [Fact]
    public void SeparatesStainedTissueFromGlassWithSpecksRemoved()
    {
        const int w = 120, h = 80;
        var rgba = new byte[w * h * 4];
        var rng = new Random(3);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var p = ((y * w) + x) * 4;
                var tissue = x >= 60;
                var speck = x == 20 && y == 20; // one dust pixel on the glass
                (rgba[p], rgba[p + 1], rgba[p + 2]) = tissue || speck
                    ? ((byte)(200 + rng.Next(20)), (byte)(90 + rng.Next(40)), (byte)(170 + rng.Next(20)))
                    : ((byte)(240 + rng.Next(10)), (byte)(240 + rng.Next(10)), (byte)(242 + rng.Next(10)));
                rgba[p + 3] = 255;
            }
        }
        var (mask, threshold) = TissueDetector.Segment(rgba, w, h, new TissueOptions());
        Assert.InRange(threshold, 10, 40);
        Assert.Equal(0, mask[(20 * w) + 20]);
        for (var y = 0; y < h; y++)
        {
            Assert.Equal(0, mask[(y * w) + 30]);
            Assert.Equal(1, mask[(y * w) + 90]);
        }
    }

    [Fact]
    public void TransparentPixelsAreBackground()
    {
        var rgba = new byte[16 * 16 * 4]; // all transparent black
        var (mask, _) = TissueDetector.Segment(rgba, 16, 16, new TissueOptions());
        Assert.All(mask, v => Assert.Equal(0, v));
    }

    [Fact]
    public void FindsTissueOnASyntheticSlide()
    {
        using var slide = Slide.Open(TestData.Slide());
        var mask = TissueDetector.Detect(slide);
        Assert.InRange(mask.TissueFraction, 0.05, 0.95);
        Assert.Equal(slide.Width, mask.Width * mask.ScaleX, 6);

        // Mask pixels called tissue are coloured on the slide; glass is near-white and grey.
        var saturationTissue = MeanSaturation(slide, mask, wantTissue: true);
        var saturationGlass = MeanSaturation(slide, mask, wantTissue: false);
        Assert.True(saturationTissue > saturationGlass + 20, $"tissue {saturationTissue:F1} vs glass {saturationGlass:F1}");
    }

    private static double MeanSaturation(Slide slide, TissueMask mask, bool wantTissue)
    {
        double sum = 0;
        var n = 0;
        for (var j = 0; j < mask.Height; j += 7)
        {
            for (var i = 0; i < mask.Width; i += 7)
            {
                if ((mask.Mask[(j * mask.Width) + i] == 1) != wantTissue)
                {
                    continue;
                }
                var p = slide.ReadRegion(0, (long)(i * mask.ScaleX), (long)(j * mask.ScaleY), 1, 1).Pixels;
                var max = Math.Max(p[0], Math.Max(p[1], p[2]));
                var min = Math.Min(p[0], Math.Min(p[1], p[2]));
                sum += max == 0 ? 0 : (max - min) * 255.0 / max;
                n++;
            }
        }
        Assert.True(n > 0);
        return sum / n;
    }
}
