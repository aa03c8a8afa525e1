namespace Histoscale.Slides;

/// <summary>One pyramid level: size in its own pixels, downsample relative to level 0, and tile grid.</summary>
/// <param name="Index">Position in <see cref="Slide.Levels"/>; 0 is full resolution.</param>
/// <param name="Width">Width in this level's pixels.</param>
/// <param name="Height">Height in this level's pixels.</param>
/// <param name="Downsample">Level-0 pixels per level pixel, averaged over both axes as OpenSlide does (1 for level 0).</param>
/// <param name="TileWidth">Stored tile width in pixels (the level width for stripped images).</param>
/// <param name="TileHeight">Stored tile height in pixels (rows per strip for stripped images).</param>
public sealed record Level(int Index, long Width, long Height, double Downsample, int TileWidth, int TileHeight)
{
    /// <summary>Number of tile columns (the last may be partial).</summary>
    public long TilesAcross => (Width + TileWidth - 1) / TileWidth;

    /// <summary>Number of tile rows (the last may be partial).</summary>
    public long TilesDown => (Height + TileHeight - 1) / TileHeight;
}

/// <summary>An associated image's name and size.</summary>
/// <param name="Name">Name, e.g. "label", "macro", "thumbnail".</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record AssociatedImageInfo(string Name, long Width, long Height);

/// <summary>An RGBA image in memory (rows of Width × 4 bytes, straight alpha).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Width × Height × 4 bytes, R, G, B, A per pixel, rows top to bottom.</param>
public sealed record RgbaImage(int Width, int Height, byte[] Pixels);
