using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// The DICOM JSON model (PS3.18 F.2), as WADO-RS metadata answers: an array of data sets, each an object whose keys
/// are tags as eight hex digits, each attribute <c>{"vr": …, "Value": [...]}</c>, or <c>"InlineBinary"</c> (base64),
/// or <c>"BulkDataURI"</c> (not fetched: nothing the reader needs is bulk data except pixels). Values become the bytes
/// a Part 10 file would hold (strings joined by backslashes, binary numbers little endian), so the same typed
/// accessors read both.
/// </summary>
internal static class DicomJson
{
    private const int MaxDepth = 12;

    /// <summary>Parses the metadata of a series; <see cref="SlideException"/> naming <paramref name="name"/> for anything that is not the model.</summary>
    public static IReadOnlyList<DicomDataset> ParseInstances(string name, ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new SlideException(name, $"DICOMweb metadata is not a JSON array of instances (got {doc.RootElement.ValueKind})");
            }
            var list = new List<DicomDataset>();
            var i = 0;
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                list.Add(Dataset(name, item, $"instance {i}", 0));
                i++;
            }
            return list;
        }
        catch (JsonException ex)
        {
            throw new SlideException(name, $"DICOMweb metadata is not valid JSON: {ex.Message}", inner: ex);
        }
    }

    private static DicomDataset Dataset(string name, JsonElement obj, string where, int depth)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            throw new SlideException(name, $"DICOMweb metadata: {where} is not a JSON object");
        }
        if (depth > MaxDepth)
        {
            throw new SlideException(name, $"DICOMweb metadata: {where} nests sequences deeper than {MaxDepth}");
        }
        var ds = new DicomDataset();
        foreach (var property in obj.EnumerateObject())
        {
            if (property.Name.Length != 8 || !uint.TryParse(property.Name, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var tag))
            {
                throw new SlideException(name, $"DICOMweb metadata: {where} has key '{property.Name}', not a tag of eight hex digits");
            }
            var attr = property.Value;
            if (attr.ValueKind != JsonValueKind.Object)
            {
                throw new SlideException(name, $"DICOMweb metadata: {where} attribute {property.Name} is not an object");
            }
            var vr = attr.TryGetProperty("vr", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "UN";
            var at = $"{where} attribute {property.Name} ({vr})";
            if (vr == "SQ")
            {
                var items = new List<DicomDataset>();
                if (attr.TryGetProperty("Value", out var seq) && seq.ValueKind == JsonValueKind.Array)
                {
                    var k = 0;
                    foreach (var item in seq.EnumerateArray())
                    {
                        items.Add(Dataset(name, item, $"{at} item {k++}", depth + 1));
                    }
                }
                ds.Add(new DicomElement { Tag = tag, Vr = vr, Length = -1, Items = items });
                continue;
            }
            byte[]? value = null;
            if (attr.TryGetProperty("InlineBinary", out var inline) && inline.ValueKind == JsonValueKind.String)
            {
                try
                {
                    value = Convert.FromBase64String(inline.GetString()!);
                }
                catch (FormatException)
                {
                    throw new SlideException(name, $"DICOMweb metadata: {at} InlineBinary is not base64");
                }
            }
            else if (attr.TryGetProperty("Value", out var values) && values.ValueKind == JsonValueKind.Array)
            {
                value = Encode(name, vr, values, at);
            }
            if (value is not null)
            {
                ds.Add(new DicomElement { Tag = tag, Vr = vr, Length = value.Length, Value = value });
            }
        }
        return ds;
    }

    private static byte[] Encode(string name, string vr, JsonElement values, string at)
    {
        SlideException Bad(string what) => new(name, $"DICOMweb metadata: {at}: {what}");
        switch (vr)
        {
            case "US" or "SS" or "UL" or "SL" or "FL" or "FD" or "SV" or "UV":
                {
                    var size = vr switch { "US" or "SS" => 2, "UL" or "SL" or "FL" => 4, _ => 8 };
                    var bytes = new byte[values.GetArrayLength() * size];
                    var i = 0;
                    foreach (var e in values.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.Number)
                        {
                            throw Bad($"value {i} is {e.ValueKind}, not a number");
                        }
                        var span = bytes.AsSpan(i * size);
                        bool ok;
                        switch (vr)
                        {
                            case "US":
                                ok = e.TryGetUInt16(out var us);
                                BinaryPrimitives.WriteUInt16LittleEndian(span, us);
                                break;
                            case "SS":
                                ok = e.TryGetInt16(out var ss);
                                BinaryPrimitives.WriteInt16LittleEndian(span, ss);
                                break;
                            case "UL":
                                ok = e.TryGetUInt32(out var ul);
                                BinaryPrimitives.WriteUInt32LittleEndian(span, ul);
                                break;
                            case "SL":
                                ok = e.TryGetInt32(out var sl);
                                BinaryPrimitives.WriteInt32LittleEndian(span, sl);
                                break;
                            case "FL":
                                ok = e.TryGetDouble(out var fl);
                                BinaryPrimitives.WriteSingleLittleEndian(span, (float)fl);
                                break;
                            case "FD":
                                ok = e.TryGetDouble(out var fd);
                                BinaryPrimitives.WriteDoubleLittleEndian(span, fd);
                                break;
                            case "SV":
                                ok = e.TryGetInt64(out var sv);
                                BinaryPrimitives.WriteInt64LittleEndian(span, sv);
                                break;
                            default:
                                ok = e.TryGetUInt64(out var uv);
                                BinaryPrimitives.WriteUInt64LittleEndian(span, uv);
                                break;
                        }
                        if (!ok)
                        {
                            throw Bad($"value {i} ({e.GetRawText()}) does not fit {vr}");
                        }
                        i++;
                    }
                    return bytes;
                }
            case "AT":
                return [];
            default:
                {
                    // Text VRs (DS and IS may come as JSON numbers, PN as {"Alphabetic": …}); joined as Part 10 joins them.
                    var parts = new List<string>();
                    foreach (var e in values.EnumerateArray())
                    {
                        parts.Add(e.ValueKind switch
                        {
                            JsonValueKind.String => e.GetString()!,
                            JsonValueKind.Number => e.GetRawText(),
                            JsonValueKind.Null => "",
                            JsonValueKind.Object when e.TryGetProperty("Alphabetic", out var a) && a.ValueKind == JsonValueKind.String => a.GetString()!,
                            JsonValueKind.Object => "",
                            _ => throw Bad($"value of kind {e.ValueKind} where text was expected"),
                        });
                    }
                    return Encoding.UTF8.GetBytes(string.Join('\\', parts));
                }
        }
    }
}
