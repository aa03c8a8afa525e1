using System.Globalization;
using Histoscale.Synthesis.Models;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>The tile table against an independent C# colour deconvolution of the same pixels.</summary>
public class HematoxylinTableTests
{
    [Fact]
    public async Task TileTableMatchesIndependentMeanHematoxylinOpticalDensity()
    {
        using var dir = new TempDir();
        var slidePath = TestData.Slide();
        var model = TestData.Model(DemoModels.HematoxylinOd(tileSize: 64));
        var summary = await PipelineHarness.RunAsync(model, [slidePath], PipelineHarness.Options(dir.Path));
        var s = Assert.Single(summary.Slides);
        Assert.Equal("completed", s.Status);

        var lines = File.ReadAllLines(Path.Combine(dir.Path, "slide-1-1500x1100-Svs.tiles.csv"));
        Assert.Equal("x,y,width,height,tissue,hematoxylin_od,status", lines[0]);
        Assert.Equal(s.Tiles, lines.Length - 1);
        Assert.True(s.Tiles > 20);

        var inv = StainVectors.Deconvolution();
        using var slide = Slide.Open(slidePath);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            var x = long.Parse(f[0], CultureInfo.InvariantCulture);
            var y = long.Parse(f[1], CultureInfo.InvariantCulture);
            var actual = double.Parse(f[5], CultureInfo.InvariantCulture);
            // 0.499 µm/px is within tolerance of 0.5: level 0, no resampling; pixels beyond the edge are white.
            var rgba = slide.ReadRegion(0, x, y, 64, 64).Pixels;
            double sum = 0;
            for (var p = 0; p < rgba.Length; p += 4)
            {
                for (var c = 0; c < 3; c++)
                {
                    var value = rgba[p + 3] == 0 ? 255 : rgba[p + c];
                    var od = -Math.Log10((value + 1) / 256.0);
                    sum += od * inv[c, StainVectors.Hematoxylin];
                }
            }
            var expected = sum / (64 * 64);
            Assert.True(Math.Abs(expected - actual) < 1e-4, $"tile at {x},{y}: expected {expected}, table says {actual}");
        }
    }
}
