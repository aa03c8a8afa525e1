namespace Histoscale.Slides;

/// <summary>One pyramid level: size in its own pixels, downsample relative to level 0, and tile grid.</summary>
public sealed record Level(int Index, long Width, long Height, double Downsample, int TileWidth, int TileHeight)
{
    public long TilesAcross => (Width + TileWidth - 1) / TileWidth;

    public long TilesDown => (Height + TileHeight - 1) / TileHeight;
}

/// <summary>An associated image's name and size.</summary>
public sealed record AssociatedImageInfo(string Name, long Width, long Height);

/// <summary>An RGBA image in memory (rows of Width × 4 bytes, straight alpha).</summary>
public sealed record RgbaImage(int Width, int Height, byte[] Pixels);
