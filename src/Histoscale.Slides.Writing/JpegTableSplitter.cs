using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Splits interchange JPEG streams into what TIFF stores: table segments shared once in the JPEGTables tag
/// (SOI, DQT/DHT..., EOI) and abbreviated tile streams without them. This is the layout Aperio and libtiff
/// write and that readers rebuild by joining JPEGTables to each tile.
/// </summary>
internal static class JpegTableSplitter
{
    private const byte Marker = 0xFF;
    private const byte Soi = 0xD8;
    private const byte Eoi = 0xD9;
    private const byte Sos = 0xDA;
    private const byte Dqt = 0xDB;
    private const byte Dht = 0xC4;
    private const byte Com = 0xFE;

    /// <summary>The DQT and DHT segments (marker, length and payload) of a complete JPEG stream, in order.</summary>
    public static List<byte[]> TableSegments(ReadOnlySpan<byte> jpeg)
    {
        var tables = new List<byte[]>();
        foreach (var (start, length, marker) in Segments(jpeg))
        {
            if (marker is Dqt or Dht)
            {
                tables.Add(jpeg.Slice(start, length).ToArray());
            }
        }
        return tables;
    }

    /// <summary>The JPEGTables tag value: an abbreviated table-specification stream.</summary>
    public static byte[] TablesStream(IReadOnlyList<byte[]> segments)
    {
        var size = 4 + segments.Sum(s => s.Length);
        var result = new byte[size];
        result[0] = Marker;
        result[1] = Soi;
        var pos = 2;
        foreach (var s in segments)
        {
            s.CopyTo(result, pos);
            pos += s.Length;
        }
        result[pos] = Marker;
        result[pos + 1] = Eoi;
        return result;
    }

    /// <summary>
    /// Writes the abbreviated form of <paramref name="jpeg"/>: APPn and COM segments dropped (a JFIF header has
    /// no meaning inside TIFF), tables equal to a shared one dropped, any other table kept inline (a tile whose
    /// tables differ stays decodable: its own tables override the shared ones).
    /// </summary>
    public static void WriteAbbreviated(ReadOnlySpan<byte> jpeg, IReadOnlyList<byte[]> shared, ChunkBuilder output)
    {
        output.WriteByte(Marker);
        output.WriteByte(Soi);
        var scanStart = -1;
        foreach (var (start, length, marker) in Segments(jpeg))
        {
            if (marker == Sos)
            {
                scanStart = start;
                break;
            }
            if (marker is >= 0xE0 and <= 0xEF or Com)
            {
                continue;
            }
            var segment = jpeg.Slice(start, length);
            if (marker is Dqt or Dht && IsShared(segment, shared))
            {
                continue;
            }
            output.Write(segment);
        }
        if (scanStart < 0)
        {
            throw new InvalidDataException("JPEG encoder produced a stream without a scan");
        }
        output.Write(jpeg[scanStart..]); // SOS header, entropy-coded data and EOI, verbatim
    }

    private static bool IsShared(ReadOnlySpan<byte> segment, IReadOnlyList<byte[]> shared)
    {
        foreach (var s in shared)
        {
            if (segment.SequenceEqual(s))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Marker segments from just after SOI up to and including SOS (start, length incl. marker, marker).</summary>
    private static List<(int Start, int Length, byte Marker)> Segments(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != Marker || jpeg[1] != Soi)
        {
            throw new InvalidDataException("JPEG encoder output does not start with SOI");
        }
        var result = new List<(int, int, byte)>();
        var pos = 2;
        while (pos + 4 <= jpeg.Length)
        {
            if (jpeg[pos] != Marker)
            {
                throw new InvalidDataException($"JPEG marker expected at byte {pos}");
            }
            var marker = jpeg[pos + 1];
            if (marker == Marker)
            {
                pos++; // fill byte
                continue;
            }
            var length = 2 + ((jpeg[pos + 2] << 8) | jpeg[pos + 3]);
            if (pos + length > jpeg.Length)
            {
                throw new InvalidDataException("JPEG segment runs past the end of the stream");
            }
            result.Add((pos, length, marker));
            if (marker == Sos)
            {
                break;
            }
            pos += length;
        }
        return result;
    }
}
