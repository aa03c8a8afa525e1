using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.BadInput;

/// <summary>OpenSlide's Aperio rules as behaviour: blank tiles, and colour space taken from the Photometric tag.</summary>
public sealed class VendorQuirkTests
{
    [Fact]
    public void ZeroLengthTileRendersTransparent()
    {
        var patcher = new TiffPatcher(File.ReadAllBytes(TestSlides.Svs));
        patcher.SetArray(0, TiffTag.TileByteCounts, 1, 0); // tile (1,0)
        using var slide = Slide.Open(new MemorySource(patcher.Bytes, "blank.svs"), new SlideOptions { Cache = null });
        var region = slide.ReadRegion(0, 240, 0, 240, 240).Pixels;
        Assert.All(Enumerable.Range(0, 240 * 240), i => Assert.Equal(0, region[(i * 4) + 3]));
        var neighbour = slide.ReadRegion(0, 0, 0, 240, 240).Pixels;
        Assert.Equal(255, neighbour[3]);
    }

    [Fact]
    public void PhotometricRgbTurnsOffTheYCbCrConversion()
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        using var normal = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        var patcher = new TiffPatcher(bytes);
        patcher.SetLong(0, TiffTag.Photometric, TiffPhotometric.Rgb);
        using var raw = Slide.Open(new MemorySource(patcher.Bytes, "rgb.svs"), new SlideOptions { Cache = null });
        var converted = normal.ReadRegion(0, 300, 300, 200, 200).Pixels;
        var unconverted = raw.ReadRegion(0, 300, 300, 200, 200).Pixels;
        // With Photometric RGB the decoder must hand back the stored Y, Cb, Cr samples as they are.
        double err = 0;
        for (var i = 0; i < converted.Length; i += 4)
        {
            var y = (0.299 * converted[i]) + (0.587 * converted[i + 1]) + (0.114 * converted[i + 2]);
            var cb = 128 - (0.168736 * converted[i]) - (0.331264 * converted[i + 1]) + (0.5 * converted[i + 2]);
            err += Math.Abs(unconverted[i] - y) + Math.Abs(unconverted[i + 1] - cb);
        }
        Assert.True(err / (converted.Length / 4) < 6, $"mean error {err / (converted.Length / 4):F2}: the Photometric tag was not honoured");
    }
}
