using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tiles;
using Histoscale.Slides;
using Histoscale.Slides.Writing;

namespace Histoscale.Archive.Tests;

/// <summary>
/// Renders from a single-level slide (no pyramid to fall back on) need memory for the output, not for the level-0
/// pixels they cover: low Deep Zoom levels, thumbnails and coarse regions stream the level and average as they go.
/// </summary>
public sealed class BoundedRenderTests : IDisposable
{
    private const int Size = 2560;
    private readonly string _file = Path.Combine(Path.GetTempPath(), "hs-single-level-" + Guid.NewGuid().ToString("N")[..12] + ".tif");

    public BoundedRenderTests()
    {
        // One page, 256-pixel tiles, uncompressed: a smooth gradient whose averages are easy to check.
        using var writer = TiffWriter.Create(_file, new TiffWriterOptions { MaxDegreeOfParallelism = 2 });
        var page = writer.AddPage(new TiffPageOptions { Width = Size, Height = Size, TileWidth = 256 });
        var band = new byte[256 * Size * 3];
        for (var row = 0; row < page.TilesDown; row++)
        {
            for (var y = 0; y < 256; y++)
            {
                for (var x = 0; x < Size; x++)
                {
                    var i = ((y * Size) + x) * 3;
                    band[i] = (byte)(x * 255 / Size);
                    band[i + 1] = (byte)(((row * 256) + y) * 255 / Size);
                    band[i + 2] = 128;
                }
            }
            page.WriteTileRow(row, band, Size * 3);
        }
        writer.Finish();
    }

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void A_coarse_render_of_a_single_level_slide_allocates_about_its_output_not_the_level()
    {
        using var slide = Slide.Open(_file);
        Assert.Single(slide.Levels);
        var sourceBytes = (long)Size * Size * 4;
        TileRenderer.Render(slide, 0, 0, Size, Size, 160, 160); // warm up (pools, JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var streamed = TileRenderer.Render(slide, 0, 0, Size, Size, 160, 160);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal((160, 160), (streamed.Width, streamed.Height));
        Assert.True(allocated < sourceBytes / 4, $"the render allocated {allocated} bytes; reading the level whole is {sourceBytes}");

        // The same pixels, within rounding, as reading the level whole and resampling it.
        var whole = TileRenderer.Render(slide, 0, 0, Size, Size, 160, 160, directReadPixels: long.MaxValue);
        long total = 0;
        var worst = 0;
        for (var i = 0; i < whole.Pixels.Length; i++)
        {
            var d = Math.Abs(whole.Pixels[i] - streamed.Pixels[i]);
            total += d;
            worst = Math.Max(worst, d);
        }
        Assert.True(total / (double)whole.Pixels.Length < 1.5 && worst <= 8, $"mean difference {total / (double)whole.Pixels.Length:F2}, worst {worst}");
        // Spot check against the gradient itself: the output's centre column averages x ≈ Size/2.
        Assert.InRange(streamed.Pixels[((80 * 160) + 80) * 4], 124, 131);
    }

    [Fact]
    public void A_large_thumbnail_of_a_single_level_slide_allocates_about_its_output()
    {
        using var slide = Slide.Open(_file);
        TileRenderer.Thumbnail(slide, 64); // warm up (pools, JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        var thumbnail = TileRenderer.Thumbnail(slide, 1024);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal((1024, 1024), (thumbnail.Width, thumbnail.Height));
        // The output is 4 MiB; summing it in 64-bit accumulators over the whole thumbnail would be 8 times that.
        Assert.True(allocated < 3 * 1024 * 1024 * 4, $"the thumbnail allocated {allocated} bytes");
        Assert.InRange(thumbnail.Pixels[((512 * 1024) + 512) * 4], 124, 131);
    }

    [Fact]
    public void The_lowest_deep_zoom_levels_of_a_single_level_slide_render_without_reading_it_whole()
    {
        using var slide = Slide.Open(_file);
        var geometry = DeepZoomGeometry.For(slide);
        TileRenderer.DeepZoomTile(slide, geometry, 2, 0, 0, Slides.Imaging.ImageFileFormat.Png); // warm up (pools, JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        var tile = TileRenderer.DeepZoomTile(slide, geometry, 3, 0, 0, Slides.Imaging.ImageFileFormat.Png);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotEmpty(tile.Bytes);
        Assert.True(allocated < (long)Size * Size, $"a 4x4-pixel tile allocated {allocated} bytes");
    }
}
