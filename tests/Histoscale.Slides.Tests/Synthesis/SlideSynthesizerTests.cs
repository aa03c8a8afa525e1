using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Slides.Tests.Tiff;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.Synthesis;

public class SlideSynthesizerTests
{
    [Fact]
    public void Rendering_is_deterministic_and_independent_of_region_boundaries()
    {
        var tissue = new SyntheticTissue(3000, 2000, 5);
        var whole = new byte[200 * 100 * 3];
        tissue.Render(1400, 950, 200, 100, whole, 200 * 3);
        var part = new byte[70 * 30 * 3];
        tissue.Render(1400 + 55, 950 + 41, 70, 30, part, 70 * 3);
        for (var y = 0; y < 30; y++)
        {
            Assert.Equal(whole.AsSpan((((41 + y) * 200) + 55) * 3, 70 * 3).ToArray(), part.AsSpan(y * 70 * 3, 70 * 3).ToArray());
        }
        var other = new byte[whole.Length];
        new SyntheticTissue(3000, 2000, 6).Render(1400, 950, 200, 100, other, 200 * 3);
        Assert.NotEqual(whole, other);
    }

    [Fact]
    public void Lossless_tiff_layout_holds_exact_pixels_and_a_box_filtered_pyramid()
    {
        using var file = new WriterTestImages.TempFile();
        var options = new SynthOptions { Width = 700, Height = 500, TileSize = 128, Layout = SynthLayout.Tiff, Compression = TiffWriteCompression.Lzw, Seed = 3 };
        var result = SlideSynthesizer.Write(file.Path, options);
        Assert.Equal([(700, 500), (350, 250), (175, 125), (87, 62)], result.Levels);

        var expected = new byte[700 * 500 * 3];
        new SyntheticTissue(700, 500, 3).Render(0, 0, 700, 500, expected, 700 * 3);
        Assert.Equal(expected, WriterTestImages.Decode(file.Path, page: 0));
        var level1 = WriterTestImages.Decode(file.Path, page: 1);
        for (var y = 0; y < 250; y += 7)
        {
            for (var x = 0; x < 350; x += 5)
            {
                for (var c = 0; c < 3; c++)
                {
                    int At(int xx, int yy) => expected[(((yy * 700) + xx) * 3) + c];
                    var box = (At(2 * x, 2 * y) + At((2 * x) + 1, 2 * y) + At(2 * x, (2 * y) + 1) + At((2 * x) + 1, (2 * y) + 1) + 2) / 4;
                    Assert.Equal(box, level1[(((y * 350) + x) * 3) + c]);
                }
            }
        }

        var tiff = new TestTiffWalker(file.Path);
        Assert.Equal(4, tiff.Pages.Count);
        Assert.Equal(0, tiff.Pages[0].Value(TiffTag.NewSubfileType));
        Assert.Equal(1, tiff.Pages[2].Value(TiffTag.NewSubfileType));
        Assert.Equal(40000, tiff.Pages[0].Rational(TiffTag.XResolution), 3); // 0.25 um/px in px/cm
        Assert.Equal(3, tiff.Pages[0].Value(TiffTag.ResolutionUnit));
    }

    [Fact]
    public void Svs_layout_is_aperio_like()
    {
        using var file = new WriterTestImages.TempFile();
        var result = SlideSynthesizer.Write(file.Path, new SynthOptions { Width = 2000, Height = 1500, Layout = SynthLayout.Svs, Seed = 2 });
        Assert.Equal([(2000, 1500), (500, 375), (125, 93)], result.Levels);

        var tiff = new TestTiffWalker(file.Path);
        Assert.Equal(6, tiff.Pages.Count); // level 0, thumbnail, 2 levels, label, macro
        var d0 = tiff.Pages[0].Text(TiffTag.ImageDescription);
        Assert.StartsWith("Aperio Image Library v12.0.15 \r\n2000x1500 [0,0 2000x1500] (240x240) JPEG/RGB Q=80|AppMag = 20|", d0);
        Assert.Contains("|MPP = 0.4990|", d0);
        Assert.False(tiff.Pages[1].Has(TiffTag.TileWidth));
        Assert.Contains("2000x1500 -> 1024x768", tiff.Pages[1].Text(TiffTag.ImageDescription));
        Assert.EndsWith("-> 500x375 JPEG/RGB Q=80", tiff.Pages[2].Text(TiffTag.ImageDescription));
        Assert.EndsWith("\nlabel 460x420", tiff.Pages[4].Text(TiffTag.ImageDescription));
        Assert.Equal(TiffCompression.Lzw, tiff.Pages[4].Value(TiffTag.Compression));
        Assert.Equal(1, tiff.Pages[4].Value(TiffTag.NewSubfileType));
        Assert.EndsWith("\nmacro 1600x560", tiff.Pages[5].Text(TiffTag.ImageDescription));
        Assert.Equal(9, tiff.Pages[5].Value(TiffTag.NewSubfileType));

        var expected = new byte[2000 * 1500 * 3];
        new SyntheticTissue(2000, 1500, 2).Render(0, 0, 2000, 1500, expected, 2000 * 3);
        var error = WriterTestImages.MeanAbsoluteError(expected, WriterTestImages.Decode(file.Path, page: 0));
        Assert.True(error < 3, $"JPEG mean absolute error {error:F2}");
        Assert.Equal(1024 * 768 * 3, WriterTestImages.Decode(file.Path, page: 1).Length);
    }

    [Fact]
    public void Subifd_layout_hangs_reduced_levels_off_ifd0_and_is_reproducible()
    {
        using var a = new WriterTestImages.TempFile();
        using var b = new WriterTestImages.TempFile();
        var options = new SynthOptions { Width = 600, Height = 300, TileSize = 64, Layout = SynthLayout.SubIfd, Compression = TiffWriteCompression.Deflate, Format = TiffFormat.BigTiff };
        SlideSynthesizer.Write(a.Path, options);
        SlideSynthesizer.Write(b.Path, options with { MaxDegreeOfParallelism = 1 });
        Assert.Equal(File.ReadAllBytes(a.Path), File.ReadAllBytes(b.Path));

        var tiff = new TestTiffWalker(a.Path);
        Assert.True(tiff.BigTiff);
        Assert.Single(tiff.Pages);
        Assert.Equal(4, tiff.Pages[0].Values(TiffTag.SubIfds).Length); // 300, 150, 75, 37 wide
        var last = tiff.SubIfd(tiff.Pages[0], 3);
        Assert.Equal(37, last.Value(TiffTag.ImageWidth));
        Assert.Equal(2, last.Value(TiffTag.Predictor));
        var expected = new byte[600 * 300 * 3];
        new SyntheticTissue(600, 300, 1).Render(0, 0, 600, 300, expected, 600 * 3);
        Assert.Equal(expected, WriterTestImages.Decode(a.Path, page: 0));
        Assert.Equal(150 * 75 * 3, WriterTestImages.Decode(a.Path, page: 0, subifd: 1).Length);
    }

    [Fact]
    public void Bad_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new SynthOptions { Width = 0, Height = 10 }.Validate());
        Assert.Throws<ArgumentException>(() => new SynthOptions { Width = 10, Height = 10, TileSize = 100 }.Validate());
        Assert.Throws<ArgumentException>(() => new SynthOptions { Width = 10, Height = 10, Quality = 101 }.Validate());
    }
}
