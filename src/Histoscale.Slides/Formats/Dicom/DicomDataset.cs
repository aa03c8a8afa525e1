using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>One data element: its VR, and either its value bytes, its sequence items, or (large values) where it lies.</summary>
internal sealed class DicomElement
{
    public required uint Tag { get; init; }

    public required string Vr { get; init; }

    /// <summary>Offset of the value in the file.</summary>
    public long Offset { get; init; }

    /// <summary>Value length in bytes (−1 when undefined: a sequence or encapsulated pixel data).</summary>
    public long Length { get; init; }

    /// <summary>The value, for elements small enough to keep; null for sequences and for large values.</summary>
    public byte[]? Value { get; init; }

    /// <summary>The items of a sequence.</summary>
    public IReadOnlyList<DicomDataset>? Items { get; init; }
}

/// <summary>A data set (a file's, or one sequence item's): elements by tag, with typed accessors that never throw on odd values.</summary>
internal sealed class DicomDataset
{
    private readonly Dictionary<uint, DicomElement> _elements = [];

    public IReadOnlyDictionary<uint, DicomElement> Elements => _elements;

    public void Add(DicomElement element) => _elements[element.Tag] = element;

    public DicomElement? Get(uint tag) => _elements.GetValueOrDefault(tag);

    /// <summary>The text value with padding removed (first value of a multi-valued one when <paramref name="index"/> is 0); null when absent.</summary>
    public string? GetString(uint tag, int index = -1)
    {
        if (Get(tag)?.Value is not { } bytes)
        {
            return null;
        }
        var text = Encoding.Latin1.GetString(bytes).TrimEnd('\0', ' ').TrimStart(' ');
        if (index < 0)
        {
            return text;
        }
        var parts = text.Split('\\');
        return index < parts.Length ? parts[index].Trim(' ', '\0') : null;
    }

    /// <summary>An unsigned integer value (US, UL, SS, SL, IS, or 2/4-byte UN from implicit VR); null when absent or unreadable.</summary>
    public long? GetInteger(uint tag)
    {
        if (Get(tag) is not { Value: { } v } e)
        {
            return null;
        }
        return e.Vr switch
        {
            "US" when v.Length >= 2 => BinaryPrimitives.ReadUInt16LittleEndian(v),
            "SS" when v.Length >= 2 => BinaryPrimitives.ReadInt16LittleEndian(v),
            "UL" when v.Length >= 4 => BinaryPrimitives.ReadUInt32LittleEndian(v),
            "SL" when v.Length >= 4 => BinaryPrimitives.ReadInt32LittleEndian(v),
            "IS" or "DS" => long.TryParse(GetString(tag, 0), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null,
            "UN" or "OB" when v.Length == 2 => BinaryPrimitives.ReadUInt16LittleEndian(v),
            "UN" or "OB" when v.Length == 4 => BinaryPrimitives.ReadUInt32LittleEndian(v),
            _ => null,
        };
    }

    /// <summary>A real value (FL, FD, DS; <paramref name="index"/> picks one of several); null when absent or unreadable.</summary>
    public double? GetDouble(uint tag, int index = 0)
    {
        if (Get(tag) is not { Value: { } v } e)
        {
            return null;
        }
        return e.Vr switch
        {
            "FL" or "UN" when v.Length >= (index + 1) * 4 && (e.Vr == "FL" || v.Length % 4 == 0) => BinaryPrimitives.ReadSingleLittleEndian(v.AsSpan(index * 4)),
            "FD" when v.Length >= (index + 1) * 8 => BinaryPrimitives.ReadDoubleLittleEndian(v.AsSpan(index * 8)),
            "DS" or "IS" => double.TryParse(GetString(tag, index), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
            _ => null,
        };
    }

    /// <summary>The first item of a sequence, or null.</summary>
    public DicomDataset? FirstItem(uint tag) => Get(tag)?.Items is { Count: > 0 } items ? items[0] : null;
}
