using Histoscale.Slides.Sources;

namespace Histoscale.Slides;

public sealed partial class Slide
{
    /// <summary>Where tile (col,row) of a level is stored in the file; null for a blank tile.</summary>
    public ByteRange? GetTileByteRange(int level, long col, long row) => _layout.Levels[CheckLevel(level).Index].StoredTileRange(col, row);

    /// <summary>
    /// Tile (col,row) of <paramref name="level"/> as its stored JPEG, a complete file ready to send (shared tables
    /// joined), without decoding or re-encoding; null when the level's tiles are not JPEG-compressed RGB or the tile is
    /// blank. Edge tiles are the full stored tile size, padding included.
    /// </summary>
    /// <exception cref="SlideException">The stored bytes are not a JPEG stream; the exception names the file, level and tile.</exception>
    public byte[]? ReadStoredJpegTile(int level, long col, long row) => _layout.Levels[CheckLevel(level).Index].ReadStoredJpeg(col, row);

    /// <summary>
    /// Tells the byte source which tiles will be read next, so a remote source can fetch them ahead (coalesced,
    /// concurrently); a DICOMweb series fetches the tiles' frames ahead in multi-frame WADO-RS requests. Returns
    /// false, doing nothing, when the source cannot prefetch (a local file, plain HTTP).
    /// </summary>
    public bool PrefetchTiles(int level, IEnumerable<(long Col, long Row)> tiles)
    {
        if (_source is not IPrefetchingSource prefetching)
        {
            if ((uint)level < (uint)Levels.Count && _layout.Levels[CheckLevel(level).Index] is Formats.Dicom.IPrefetchingImage { CanPrefetch: true } frames)
            {
                frames.Prefetch(tiles);
                return true;
            }
            return false;
        }
        var image = _layout.Levels[CheckLevel(level).Index];
        var ranges = new List<ByteRange>();
        foreach (var (col, row) in tiles)
        {
            if (image.StoredTileRange(col, row) is { } r)
            {
                ranges.Add(r);
            }
        }
        prefetching.Prefetch(ranges);
        return true;
    }
}
