namespace Histoscale.Slides;

/// <summary>What a decoded tile turned out to be.</summary>
public enum TileStatus
{
    /// <summary>Pixels were written.</summary>
    Decoded,

    /// <summary>The tile is stored empty (zero length): it renders transparent, as OpenSlide does.</summary>
    Blank,
}

/// <summary>
/// A raster stored as a grid of independently decodable blocks (tiles, or strips as full-width tiles).
/// Formats hand these to <see cref="Slide"/>; nothing above this interface knows TIFF.
/// </summary>
public interface ITiledImage
{
    /// <summary>Width in this raster's own pixels.</summary>
    long Width { get; }

    /// <summary>Height in this raster's own pixels.</summary>
    long Height { get; }

    /// <summary>Width of one block in pixels (the full image width for strips).</summary>
    int TileWidth { get; }

    /// <summary>Height of one block in pixels (rows per strip for strips).</summary>
    int TileHeight { get; }

    /// <summary>Number of block columns.</summary>
    long TilesAcross { get; }

    /// <summary>Number of block rows.</summary>
    long TilesDown { get; }

    /// <summary>
    /// Decodes block (col,row) into RGBA rows of TileWidth×4 bytes. Only the block's valid rows are written
    /// (the last strip can be short). Thread-safe.
    /// </summary>
    /// <exception cref="SlideException">The block is unreadable; the exception names the file, level and tile.</exception>
    TileStatus DecodeTile(long col, long row, Span<byte> rgba);

    /// <summary>
    /// Decodes an opaque, full-size block straight into R, G, B planes (TileWidth × TileHeight bytes each) when the
    /// codec can; false when it cannot (blank, alpha, short last strip, or a stream the fast decoder declines), and
    /// the caller then uses <see cref="DecodeTile"/>. Thread-safe.
    /// </summary>
    /// <exception cref="SlideException">The block is unreadable; the exception names the file, level and tile.</exception>
    bool TryDecodeTilePlanar(long col, long row, Span<byte> red, Span<byte> green, Span<byte> blue) => false;

    /// <summary>Whether <see cref="TryDecodeTilePlanar"/> can succeed for this raster at all (its codec decodes planes).</summary>
    bool CanDecodePlanar => false;

    /// <summary>Size in bytes of the stored (compressed) block; 0 for a blank block.</summary>
    long StoredTileBytes(long col, long row);

    /// <summary>Where block (col,row) is stored in the file, so it can be fetched ahead; null when blank or unknown.</summary>
    Sources.ByteRange? StoredTileRange(long col, long row) => null;

    /// <summary>
    /// Block (col,row) as a complete JPEG file, without decoding it (shared tables joined, the colour space stated),
    /// for servers that pass stored tiles through; null when the raster is not JPEG-compressed RGB or the block is
    /// blank. A block whose stored bytes are not a JPEG stream (no start or end marker) is a <see cref="SlideException"/>.
    /// </summary>
    byte[]? ReadStoredJpeg(long col, long row) => null;
}
