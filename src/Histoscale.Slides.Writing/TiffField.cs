using System.Buffers.Binary;
using System.Text;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>One IFD entry ready to serialise: tag, type, count and little-endian value bytes.</summary>
internal readonly record struct TiffField(ushort Tag, TiffType Type, long Count, byte[] Value)
{
    public static TiffField Short(ushort tag, params ReadOnlySpan<int> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), checked((ushort)values[i]));
        }
        return new(tag, TiffType.Short, values.Length, bytes);
    }

    public static TiffField Long(ushort tag, params ReadOnlySpan<long> values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), checked((uint)values[i]));
        }
        return new(tag, TiffType.Long, values.Length, bytes);
    }

    public static TiffField Long8(ushort tag, TiffType type, ReadOnlySpan<long> values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), checked((ulong)values[i]));
        }
        return new(tag, type, values.Length, bytes);
    }

    /// <summary>Offsets (or counts): LONG in classic TIFF, LONG8 in BigTIFF, as libtiff writes them.</summary>
    public static TiffField Offsets(ushort tag, ReadOnlySpan<long> values, bool bigTiff) =>
        bigTiff ? Long8(tag, TiffType.Long8, values) : Long(tag, values);

    /// <summary>NUL-terminated 7-bit text; non-ASCII characters become '?' so readers never see invalid bytes.</summary>
    public static TiffField Ascii(ushort tag, string text)
    {
        var bytes = new byte[text.Length + 1];
        for (var i = 0; i < text.Length; i++)
        {
            bytes[i] = text[i] is > '\0' and < (char)128 ? (byte)text[i] : (byte)'?';
        }
        return new(tag, TiffType.Ascii, bytes.Length, bytes);
    }

    public static TiffField Undefined(ushort tag, byte[] bytes) => new(tag, TiffType.Undefined, bytes.Length, bytes);

    /// <summary>One RATIONAL, with the largest power-of-ten denominator that keeps the numerator in 32 bits.</summary>
    public static TiffField Rational(ushort tag, double value)
    {
        uint denominator = 10000;
        while (denominator > 1 && value * denominator > uint.MaxValue)
        {
            denominator /= 10;
        }
        var numerator = (uint)Math.Clamp(Math.Round(value * denominator), 0, uint.MaxValue);
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, numerator);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), denominator);
        return new(tag, TiffType.Rational, 1, bytes);
    }

    public static string FormatDateTime(DateTime t) => t.ToString("yyyy:MM:dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    public string DebugText => Type == TiffType.Ascii ? Encoding.ASCII.GetString(Value) : $"{Type}[{Count}]";
}
