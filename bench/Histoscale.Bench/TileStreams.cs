using Histoscale.Slides.Codecs;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;

namespace Histoscale.Bench;

/// <summary>Complete JPEG streams of a slide's level-0 tiles, held in memory so only decoding is timed.</summary>
public sealed record TileStreams(List<byte[]> Streams, int Width, int Height)
{
    public static TileStreams Load(string path, int max)
    {
        using var source = new LocalFileSource(path);
        var tiff = TiffFile.TryOpen(source) ?? throw new InvalidDataException("not a TIFF");
        var dir = tiff.Directories[0];
        var offsets = dir.GetLongs(TiffTag.TileOffsets);
        var counts = dir.GetLongs(TiffTag.TileByteCounts);
        var tables = dir.GetBytes(TiffTag.JpegTables);
        var photometric = (int)(dir.GetLong(TiffTag.Photometric) ?? 2);
        var streams = new List<byte[]>();
        // Take tiles spread over the slide (tissue and glass alike), not just the first rows.
        var step = Math.Max(1, offsets.Length / max);
        for (var i = 0; i < offsets.Length && streams.Count < max; i += step)
        {
            if (counts[i] == 0)
            {
                continue;
            }
            var raw = new byte[counts[i]];
            tiff.ReadExactly(offsets[i], raw, "tile");
            var buffer = new byte[raw.Length + (tables?.Length ?? 0) + 32];
            var n = JpegCodec.BuildStream(raw, tables, photometric, buffer);
            streams.Add(buffer[..n]);
        }
        return new TileStreams(streams, (int)dir.GetLong(TiffTag.TileWidth)!, (int)dir.GetLong(TiffTag.TileLength)!);
    }
}
