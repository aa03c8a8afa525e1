using Histoscale.Slides;

namespace Histoscale.Archive.Catalog;

/// <summary>
/// Deep Zoom's pyramid over a slide: level <see cref="MaxLevel"/> is full resolution, each level below halves it
/// (rounding up) down to 1×1. Tiles are <see cref="TileSize"/> square with no overlap; the tile size is the slide's
/// own when its level-0 tiles are square, so that every Deep Zoom level that coincides with a stored level can pass
/// stored JPEG tiles through untouched.
/// </summary>
internal sealed record DeepZoomGeometry(long Width, long Height, int TileSize, int MaxLevel)
{
    public static DeepZoomGeometry For(Slide slide)
    {
        var l0 = slide.Levels[0];
        var tile = l0.TileWidth == l0.TileHeight && l0.TileWidth is >= 64 and <= 2048 ? l0.TileWidth : 254;
        var max = (int)Math.Ceiling(Math.Log2(Math.Max(slide.Width, slide.Height)));
        return new DeepZoomGeometry(slide.Width, slide.Height, tile, Math.Max(0, max));
    }

    /// <summary>Level-0 pixels per pixel of Deep Zoom level <paramref name="level"/>.</summary>
    public long Downsample(int level) => 1L << (MaxLevel - level);

    public (long Width, long Height) LevelSize(int level)
    {
        var d = Downsample(level);
        return ((Width + d - 1) / d, (Height + d - 1) / d);
    }

    public (long Across, long Down) TileGrid(int level)
    {
        var (w, h) = LevelSize(level);
        return ((w + TileSize - 1) / TileSize, (h + TileSize - 1) / TileSize);
    }

    /// <summary>The Deep Zoom level that is <c>zxy</c>'s z 0: the largest level that still fits in one tile.</summary>
    public int ZxyOffset
    {
        get
        {
            for (var level = 0; level <= MaxLevel; level++)
            {
                var (w, h) = LevelSize(level);
                if (Math.Max(w, h) > TileSize)
                {
                    return Math.Max(0, level - 1);
                }
            }
            return MaxLevel;
        }
    }

    public bool Contains(int level, long col, long row)
    {
        if (level < 0 || level > MaxLevel || col < 0 || row < 0)
        {
            return false;
        }
        var (across, down) = TileGrid(level);
        return col < across && row < down;
    }

    /// <summary>The tile's rectangle in level pixels.</summary>
    public (long X, long Y, int Width, int Height) TileRect(int level, long col, long row)
    {
        var (w, h) = LevelSize(level);
        var x = col * TileSize;
        var y = row * TileSize;
        return (x, y, (int)Math.Min(TileSize, w - x), (int)Math.Min(TileSize, h - y));
    }

    public string ToXml(string format) =>
        $"""<?xml version="1.0" encoding="UTF-8"?><Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{format}" Overlap="0" TileSize="{TileSize}"><Size Width="{Width}" Height="{Height}"/></Image>""";
}
