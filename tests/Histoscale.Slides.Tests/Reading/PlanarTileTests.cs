using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Reading;

/// <summary>Tiles read as R, G, B planes (for NCHW tensors) are the RGBA tiles' channels; edge, blank and non-JPEG tiles decline.</summary>
public sealed class PlanarTileTests
{
    [Fact]
    public void InteriorJpegTilesComeOutAsTheChannelsOfTheRgbaTile()
    {
        using var slide = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        Assert.True(slide.CanReadTilesPlanar(0));
        var level = slide.Levels[0];
        var plane = level.TileWidth * level.TileHeight;
        var rgba = new byte[plane * 4];
        var planes = new byte[3 * plane];
        var interior = 0;
        for (long row = 0; row < level.TilesDown; row++)
        {
            for (long col = 0; col < level.TilesAcross; col++)
            {
                var inside = (col + 1) * level.TileWidth <= level.Width && (row + 1) * level.TileHeight <= level.Height;
                var read = slide.TryReadTilePlanar(0, col, row, planes.AsSpan(0, plane), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane));
                Assert.Equal(inside, read); // the synthetic slide stores every tile as baseline JPEG
                if (!read)
                {
                    continue;
                }
                interior++;
                slide.ReadTile(0, col, row, rgba);
                for (var p = 0; p < plane; p++)
                {
                    for (var c = 0; c < 3; c++)
                    {
                        if (planes[(c * plane) + p] != rgba[(p * 4) + c])
                        {
                            Assert.Fail($"tile ({col},{row}) pixel {p} channel {c}: planar {planes[(c * plane) + p]}, RGBA {rgba[(p * 4) + c]}");
                        }
                    }
                }
            }
        }
        Assert.True(interior > 10);
    }

    [Fact]
    public void LosslessTilesAndBadArgumentsAreRefusedClearly()
    {
        using var slide = Slide.Open(TestSlides.LzwTiff, new SlideOptions { Cache = null });
        Assert.False(slide.CanReadTilesPlanar(0)); // callers know before fetching any tile
        var plane = slide.Levels[0].TileWidth * slide.Levels[0].TileHeight;
        var planes = new byte[3 * plane];
        Assert.False(slide.TryReadTilePlanar(0, 0, 0, planes.AsSpan(0, plane), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane)));
        Assert.Throws<ArgumentException>(() => slide.TryReadTilePlanar(0, 0, 0, planes.AsSpan(0, plane - 1), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane)));
        Assert.Throws<ArgumentOutOfRangeException>(() => slide.TryReadTilePlanar(0, 999, 0, planes.AsSpan(0, plane), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane)));
    }
}
