using System.Buffers.Binary;

namespace Histoscale.Slides.Tests.Support;

/// <summary>
/// Damages one tile of a little-endian classic TIFF's first directory in place, the way corrupt slides arrive:
/// scrambled JPEG entropy-coded data (SOI, tables, scan header and EOI intact), a cut-short scan, a cut-short
/// lossless tile. Self-contained (no test framework, no reader internals) so the CLI and pipeline tests link it.
/// </summary>
public static class TileDamage
{
    private const ushort TileOffsets = 324;
    private const ushort TileByteCounts = 325;

    /// <summary>
    /// Overwrites tile <paramref name="index"/>'s entropy-coded bytes from fraction <paramref name="from"/> to
    /// <paramref name="to"/> of the scan with random non-0xFF bytes (so no marker appears).
    /// </summary>
    public static void ScrambleJpegScan(byte[] tiff, int index, int seed, double from = 0, double to = 1)
    {
        var (start, end) = ScanData(tiff, index);
        var rng = new Random(seed);
        var length = end - start;
        for (var i = start + (int)(length * from); i < start + (int)(length * to); i++)
        {
            tiff[i] = (byte)rng.Next(0xFF);
        }
    }

    /// <summary>
    /// A copy of <paramref name="tiff"/> whose tile <paramref name="index"/> carries <paramref name="count"/> random
    /// non-0xFF bytes between its scan and its EOI (the tile, so lengthened, is appended and the tile points there).
    /// </summary>
    public static byte[] InsertBeforeEoi(byte[] tiff, int index, int count, int seed)
    {
        var (start, end) = ScanData(tiff, index);
        var offset = (int)Read(tiff, TileOffsets, index);
        var stray = new byte[count];
        var rng = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            stray[i] = (byte)rng.Next(0xFF);
        }
        byte[] tile = [.. tiff.AsSpan(offset, end - offset), .. stray, 0xFF, 0xD9];
        byte[] result = [.. tiff, .. tile];
        Write(result, TileOffsets, index, (uint)tiff.Length);
        Write(result, TileByteCounts, index, (uint)tile.Length);
        return result;
    }

    /// <summary>Keeps the first <paramref name="keep"/> of tile <paramref name="index"/>'s scan and ends it with EOI there (fewer MCUs than the frame needs).</summary>
    public static void TruncateJpegScan(byte[] tiff, int index, double keep)
    {
        var (start, end) = ScanData(tiff, index);
        var cut = start + (int)((end - start) * keep);
        if (tiff[cut - 1] == 0xFF)
        {
            cut--; // do not leave half a stuffed byte
        }
        tiff[cut] = 0xFF;
        tiff[cut + 1] = 0xD9;
        var offset = Read(tiff, TileOffsets, index);
        Write(tiff, TileByteCounts, index, (uint)(cut + 2 - offset));
    }

    /// <summary>Shortens tile <paramref name="index"/>'s stored bytes to a third (an LZW or deflate block that ends early).</summary>
    public static void TruncateTile(byte[] tiff, int index) =>
        Write(tiff, TileByteCounts, index, Read(tiff, TileByteCounts, index) / 3);

    /// <summary>The entropy-coded bytes of a JPEG tile: after the SOS header, before the final EOI.</summary>
    private static (int Start, int End) ScanData(byte[] tiff, int index)
    {
        var offset = (int)Read(tiff, TileOffsets, index);
        var count = (int)Read(tiff, TileByteCounts, index);
        for (var i = offset; i + 3 < offset + count; i++)
        {
            if (tiff[i] == 0xFF && tiff[i + 1] == 0xDA)
            {
                var start = i + 2 + ((tiff[i + 2] << 8) | tiff[i + 3]);
                var end = offset + count;
                if (tiff[end - 2] == 0xFF && tiff[end - 1] == 0xD9)
                {
                    end -= 2;
                }
                return (start, end);
            }
        }
        throw new InvalidOperationException($"tile {index} has no SOS marker");
    }

    private static uint Read(byte[] tiff, ushort tag, int index) => BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(ArrayAt(tiff, tag) + (index * 4)));

    private static void Write(byte[] tiff, ushort tag, int index, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(ArrayAt(tiff, tag) + (index * 4)), value);

    /// <summary>Where IFD 0's LONG array for <paramref name="tag"/> lies (out of line: slides have many tiles).</summary>
    private static int ArrayAt(byte[] tiff, ushort tag)
    {
        if (tiff[0] != 'I' || BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(2)) != 42)
        {
            throw new InvalidOperationException("little-endian classic TIFF only");
        }
        var ifd = (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(4));
        var entries = BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(ifd));
        for (var i = 0; i < entries; i++)
        {
            var e = ifd + 2 + (i * 12);
            if (BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(e)) == tag)
            {
                if (BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(e + 2)) != 4 || BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(e + 4)) < 2)
                {
                    throw new InvalidOperationException($"tag {tag} is not an out-of-line LONG array");
                }
                return (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(e + 8));
            }
        }
        throw new InvalidOperationException($"tag {tag} not in IFD 0");
    }
}
