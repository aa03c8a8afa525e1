using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Histoscale.Slides.Tiff;

/// <summary>One image file directory: typed access to its tags. Values are read lazily and bounded by the file.</summary>
internal sealed class TiffDirectory
{
    private const long MaxValueBytes = 64L * 1024 * 1024; // no sane tag value (tile table, description, tables) is bigger

    private readonly Dictionary<ushort, TiffEntry> _entries;

    internal TiffDirectory(TiffFile file, int index, long offset, Dictionary<ushort, TiffEntry> entries)
    {
        File = file;
        Index = index;
        Offset = offset;
        _entries = entries;
    }

    public TiffFile File { get; }

    /// <summary>Position in the main chain (or the SubIFD index given by the caller).</summary>
    public int Index { get; }

    public long Offset { get; }

    public IReadOnlyDictionary<ushort, TiffEntry> Entries => _entries;

    public bool Has(ushort tag) => _entries.ContainsKey(tag);

    public bool IsTiled => Has(TiffTag.TileWidth) && Has(TiffTag.TileOffsets);

    public long Width => GetLong(TiffTag.ImageWidth) ?? throw Missing(TiffTag.ImageWidth, "ImageWidth");

    public long Height => GetLong(TiffTag.ImageLength) ?? throw Missing(TiffTag.ImageLength, "ImageLength");

    public long NewSubfileType => GetLong(TiffTag.NewSubfileType) ?? 0;

    /// <summary>First value of an integer tag, or null.</summary>
    public long? GetLong(ushort tag)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Count < 1)
        {
            return null;
        }
        var values = GetLongs(tag, 1);
        return values.Length > 0 ? values[0] : null;
    }

    /// <summary>All values of an integer tag (BYTE, SHORT, LONG, LONG8, IFD types), bounded by maxCount.</summary>
    public long[] GetLongs(ushort tag, long maxCount = long.MaxValue)
    {
        if (!_entries.TryGetValue(tag, out var e))
        {
            return [];
        }
        var count = Math.Min(e.Count, maxCount);
        var size = TiffEntry.TypeSize(e.Type);
        var bytes = ReadValueBytes(e, count * size);
        var result = new long[count];
        for (var i = 0; i < count; i++)
        {
            var s = bytes.AsSpan(i * size, size);
            result[i] = e.Type switch
            {
                TiffType.Byte or TiffType.Undefined => s[0],
                TiffType.SByte => (sbyte)s[0],
                TiffType.Short => File.U16(s),
                TiffType.SShort => (short)File.U16(s),
                TiffType.Long or TiffType.Ifd => File.U32(s),
                TiffType.SLong => (int)File.U32(s),
                TiffType.Long8 or TiffType.Ifd8 or TiffType.SLong8 => (long)File.U64(s),
                _ => throw new SlideException(File.Name, $"IFD {Index}: tag {tag} has non-integer type {e.Type}"),
            };
        }
        return result;
    }

    /// <summary>First value of a RATIONAL/FLOAT/DOUBLE (or integer) tag.</summary>
    public double? GetDouble(ushort tag)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Count < 1)
        {
            return null;
        }
        var size = TiffEntry.TypeSize(e.Type);
        var b = ReadValueBytes(e, size);
        return e.Type switch
        {
            TiffType.Rational => File.U32(b.AsSpan(4)) == 0 ? null : (double)File.U32(b) / File.U32(b.AsSpan(4)),
            TiffType.SRational => File.U32(b.AsSpan(4)) == 0 ? null : (double)(int)File.U32(b) / (int)File.U32(b.AsSpan(4)),
            TiffType.Float => BitConverter.Int32BitsToSingle((int)File.U32(b)),
            TiffType.Double => BitConverter.Int64BitsToDouble((long)File.U64(b)),
            _ => GetLong(tag),
        };
    }

    /// <summary>An ASCII tag as a string (trailing NULs removed), or null.</summary>
    public string? GetString(ushort tag)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Type != TiffType.Ascii)
        {
            return null;
        }
        var bytes = ReadValueBytes(e, e.Count);
        var end = Array.IndexOf(bytes, (byte)0);
        // Latin-1 keeps every byte; vendors put odd bytes in descriptions and we must not throw on them
        return Encoding.Latin1.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }

    /// <summary>Raw bytes of a tag (e.g. JPEGTables), or null.</summary>
    public byte[]? GetBytes(ushort tag)
    {
        if (!_entries.TryGetValue(tag, out var e))
        {
            return null;
        }
        return ReadValueBytes(e, e.ByteSize);
    }

    internal string FormatValue(ushort tag)
    {
        var e = _entries[tag];
        return e.Type switch
        {
            TiffType.Ascii => GetString(tag) ?? "",
            TiffType.Rational or TiffType.SRational or TiffType.Float or TiffType.Double =>
                GetDouble(tag)?.ToString("G", CultureInfo.InvariantCulture) ?? "",
            _ => GetLong(tag)?.ToString(CultureInfo.InvariantCulture) ?? "",
        };
    }

    internal SlideException Missing(ushort tag, string name) => new(File.Name, $"IFD {Index}: required tag {name} ({tag}) is missing");

    private byte[] ReadValueBytes(TiffEntry e, long byteCount)
    {
        if (byteCount < 0 || byteCount > MaxValueBytes)
        {
            throw new SlideException(File.Name, $"IFD {Index}: tag {e.Tag} claims {e.Count} values ({byteCount} bytes)");
        }
        var bytes = new byte[byteCount];
        if (e.IsInline)
        {
            Span<byte> raw = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(raw, e.InlineBits);
            raw[..(int)byteCount].CopyTo(bytes);
        }
        else
        {
            File.ReadExactly(e.ValueOffset, bytes, $"IFD {Index} tag {e.Tag} value");
        }
        return bytes;
    }
}
