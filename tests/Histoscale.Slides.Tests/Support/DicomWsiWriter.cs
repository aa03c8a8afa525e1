using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Histoscale.Slides.Tests.Support;

/// <summary>What one DICOM WSI instance written by <see cref="DicomWsiWriter"/> holds.</summary>
public sealed record DicomWsiInstance
{
    public const string WsiSopClass = "1.2.840.10008.5.1.4.1.1.77.1.6";
    public const string ExplicitLittle = "1.2.840.10008.1.2.1";
    public const string ImplicitLittle = "1.2.840.10008.1.2";
    public const string JpegBaseline = "1.2.840.10008.1.2.4.50";
    public const string DefaultSeriesUid = "1.2.826.0.1.3680043.10.1.2";

    public string SopClass { get; init; } = WsiSopClass;
    public string StudyUid { get; init; } = "1.2.826.0.1.3680043.10.1.1";
    public string SeriesUid { get; init; } = DefaultSeriesUid;
    public required string SopInstanceUid { get; init; }
    public string ImageType { get; init; } = "DERIVED\\PRIMARY\\VOLUME\\NONE";
    public string Modality { get; init; } = "SM";
    /// <summary>Series Description (0008,103E); none when null.</summary>
    public string? SeriesDescription { get; init; }
    public required int Columns { get; init; }
    public required int Rows { get; init; }
    public long TotalColumns { get; init; }
    public long TotalRows { get; init; }
    public string Photometric { get; init; } = "YBR_FULL_422";
    public int SamplesPerPixel { get; init; } = 3;
    public string TransferSyntax { get; init; } = JpegBaseline;
    public required IReadOnlyList<byte[]> Frames { get; init; }
    /// <summary>Number of Frames as written; default the frame count.</summary>
    public int? NumberOfFrames { get; init; }
    /// <summary>Splits each encapsulated frame into this many fragments (needs an offset table when above 1).</summary>
    public int FragmentsPerFrame { get; init; } = 1;
    public bool BasicOffsetTable { get; init; }
    public bool ExtendedOffsetTable { get; init; }
    /// <summary>Pixel Spacing (mm): row spacing (vertical), then column spacing (horizontal).</summary>
    public (double Row, double Column)? PixelSpacing { get; init; }
    public double? ObjectiveLensPower { get; init; }
    public int InstanceNumber { get; init; } = 1;
    public long? ConcatenationFrameOffset { get; init; }
    public string Organization { get; init; } = "TILED_FULL";
    /// <summary>TILED_SPARSE: each frame's 1-based (column, row) in the total pixel matrix.</summary>
    public IReadOnlyList<(long X, long Y)>? Positions { get; init; }
    /// <summary>Sequences and items with undefined length and delimiters (else defined lengths).</summary>
    public bool UndefinedLengthSequences { get; init; } = true;
    /// <summary>An Icon Image Sequence (0088,0200) whose one item holds encapsulated pixel data with these fragments.</summary>
    public IReadOnlyList<byte[]>? IconFragments { get; init; }
}

/// <summary>How <see cref="DicomWsiWriter.WriteUncompressedSeries(Slide, string, UncompressedSeries)"/> writes a series.</summary>
public sealed record UncompressedSeries
{
    public int Tile { get; init; } = 128;
    /// <summary>Series Instance UID (instance UIDs are derived from it); null for the default series.</summary>
    public string? SeriesUid { get; init; }
    /// <summary>Prefix of every file name (level0, label ...).</summary>
    public string Prefix { get; init; } = "";
    /// <summary>File name extension, ".dcm" by default; "" for none.</summary>
    public string Extension { get; init; } = ".dcm";
    public string? Description { get; init; }
    /// <summary>Write the slide's macro as an OVERVIEW instance.</summary>
    public bool Overview { get; init; }
}

/// <summary>
/// A minimal DICOM Part 10 writer for VL Whole Slide Microscopy test series (our own, from the standard's layout):
/// preamble, meta group, explicit or implicit VR little endian data set, sequences (defined or undefined length),
/// native or encapsulated pixel data with optional Basic / Extended Offset Tables.
/// </summary>
public static class DicomWsiWriter
{
    private static readonly HashSet<string> LongVrs = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"];

    public static void Write(string path, DicomWsiInstance d) => File.WriteAllBytes(path, ToBytes(d));

    /// <summary>A level's pixels as uncompressed RGB frames of <paramref name="tile"/> (edges padded with zeros), row by row.</summary>
    public static List<byte[]> RawFrames(Slide slide, int level, int tile)
    {
        var l = slide.Levels[level];
        var frames = new List<byte[]>();
        var rgba = new byte[tile * tile * 4];
        for (long y = 0; y < l.Height; y += tile)
        {
            for (long x = 0; x < l.Width; x += tile)
            {
                var w = (int)Math.Min(tile, l.Width - x);
                var h = (int)Math.Min(tile, l.Height - y);
                Array.Clear(rgba);
                slide.ReadLevelRegion(level, x, y, w, h, rgba.AsSpan(0, w * h * 4));
                var rgb = new byte[tile * tile * 3];
                for (var row = 0; row < h; row++)
                {
                    for (var col = 0; col < w; col++)
                    {
                        var s = ((row * w) + col) * 4;
                        var d = ((row * tile) + col) * 3;
                        (rgb[d], rgb[d + 1], rgb[d + 2]) = (rgba[s], rgba[s + 1], rgba[s + 2]);
                    }
                }
                frames.Add(rgb);
            }
        }
        return frames;
    }

    /// <summary>An RGBA image as one uncompressed RGB frame.</summary>
    public static byte[] Rgb(ReadOnlySpan<byte> rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int s = 0, d = 0; s < rgba.Length; s += 4, d += 3)
        {
            (rgb[d], rgb[d + 1], rgb[d + 2]) = (rgba[s], rgba[s + 1], rgba[s + 2]);
        }
        return rgb;
    }

    /// <summary>
    /// An uncompressed series of <paramref name="slide"/> (public API only): one TILED_FULL instance per level
    /// (explicit VR; implicit for odd levels), the label as a LABEL instance. Pixel Spacing from the slide's µm/px.
    /// </summary>
    public static void WriteUncompressedSeries(Slide slide, string folder, int tile = 128) => WriteUncompressedSeries(slide, folder, new UncompressedSeries { Tile = tile });

    /// <summary>
    /// As <see cref="WriteUncompressedSeries(Slide, string, int)"/>, as <paramref name="series"/> says: another series
    /// UID (its instances' UIDs derived from it), file names with a prefix or no extension, a description, and the
    /// macro as an OVERVIEW instance.
    /// </summary>
    public static void WriteUncompressedSeries(Slide slide, string folder, UncompressedSeries series)
    {
        var tile = series.Tile;
        var uids = series.SeriesUid ?? "1.2.826.0.1.3680043.10.2";
        string FileName(string stem) => Path.Combine(folder, series.Prefix + stem + series.Extension);
        for (var l = 0; l < slide.Levels.Count; l++)
        {
            var level = slide.Levels[l];
            var mm = (slide.MppY ?? 0.5) * level.Downsample / 1000;
            Write(FileName($"level{l}"), new DicomWsiInstance
            {
                SeriesUid = series.SeriesUid ?? DicomWsiInstance.DefaultSeriesUid,
                SeriesDescription = series.Description,
                SopInstanceUid = $"{uids}.{l + 1}",
                Columns = tile,
                Rows = tile,
                TotalColumns = level.Width,
                TotalRows = level.Height,
                Photometric = "RGB",
                TransferSyntax = l % 2 == 0 ? DicomWsiInstance.ExplicitLittle : DicomWsiInstance.ImplicitLittle,
                Frames = RawFrames(slide, l, tile),
                PixelSpacing = (mm, mm),
                InstanceNumber = l + 1,
            });
        }
        foreach (var (name, flavor, n) in new[] { ("label", "LABEL", 99), ("macro", "OVERVIEW", 98) })
        {
            if (!slide.AssociatedImages.ContainsKey(name) || (name == "macro" && !series.Overview))
            {
                continue;
            }
            var label = slide.ReadAssociatedImage(name);
            Write(FileName(name), new DicomWsiInstance
            {
                SeriesUid = series.SeriesUid ?? DicomWsiInstance.DefaultSeriesUid,
                SeriesDescription = series.Description,
                SopInstanceUid = $"{uids}.{n}",
                ImageType = $"ORIGINAL\\PRIMARY\\{flavor}\\NONE",
                Columns = label.Width,
                Rows = label.Height,
                Photometric = "RGB",
                TransferSyntax = DicomWsiInstance.ExplicitLittle,
                Frames = [Rgb(label.Pixels)],
            });
        }
    }

    public static byte[] ToBytes(DicomWsiInstance d)
    {
        var explicitVr = d.TransferSyntax != DicomWsiInstance.ImplicitLittle;
        var encapsulated = d.TransferSyntax is not (DicomWsiInstance.ExplicitLittle or DicomWsiInstance.ImplicitLittle);
        using var ms = new MemoryStream();
        ms.Write(new byte[128]);
        ms.Write("DICM"u8);
        var meta = new MemoryStream();
        Element(meta, true, 0x0002_0001, "OB", [0, 1]);
        Element(meta, true, 0x0002_0002, "UI", Ui(d.SopClass));
        Element(meta, true, 0x0002_0003, "UI", Ui(d.SopInstanceUid));
        Element(meta, true, 0x0002_0010, "UI", Ui(d.TransferSyntax));
        Element(meta, true, 0x0002_0012, "UI", Ui("1.2.826.0.1.3680043.10.1.99"));
        Element(ms, true, 0x0002_0000, "UL", U32((uint)meta.Length));
        meta.Position = 0;
        meta.CopyTo(ms);

        var e = new SortedDictionary<uint, (string Vr, byte[] Value)>
        {
            [0x0008_0008] = ("CS", Text(d.ImageType)),
            [0x0008_0016] = ("UI", Ui(d.SopClass)),
            [0x0008_0018] = ("UI", Ui(d.SopInstanceUid)),
            [0x0008_0060] = ("CS", Text(d.Modality)),
            [0x0008_0070] = ("LO", Text("Histoscale tests")),
            [0x0020_000D] = ("UI", Ui(d.StudyUid)),
            [0x0020_000E] = ("UI", Ui(d.SeriesUid)),
            [0x0020_0013] = ("IS", Text(d.InstanceNumber.ToString(CultureInfo.InvariantCulture))),
            [0x0028_0002] = ("US", U16((ushort)d.SamplesPerPixel)),
            [0x0028_0004] = ("CS", Text(d.Photometric)),
            [0x0028_0008] = ("IS", Text((d.NumberOfFrames ?? d.Frames.Count).ToString(CultureInfo.InvariantCulture))),
            [0x0028_0010] = ("US", U16((ushort)d.Rows)),
            [0x0028_0011] = ("US", U16((ushort)d.Columns)),
            [0x0028_0100] = ("US", U16(8)),
            [0x0028_0101] = ("US", U16(8)),
            [0x0028_0102] = ("US", U16(7)),
            [0x0028_0103] = ("US", U16(0)),
            [0x0048_0006] = ("UL", U32((uint)(d.TotalColumns > 0 ? d.TotalColumns : d.Columns))),
            [0x0048_0007] = ("UL", U32((uint)(d.TotalRows > 0 ? d.TotalRows : d.Rows))),
            [0x0020_9311] = ("CS", Text(d.Organization)),
        };
        if (d.SeriesDescription is { } description)
        {
            e[0x0008_103E] = ("LO", Text(description));
        }
        if (d.SamplesPerPixel == 3)
        {
            e[0x0028_0006] = ("US", U16(0));
        }
        if (d.ConcatenationFrameOffset is { } co)
        {
            e[0x0020_9228] = ("UL", U32((uint)co));
            e[0x0020_9161] = ("UI", Ui("1.2.826.0.1.3680043.10.1.77"));
        }
        if (d.PixelSpacing is { } ps)
        {
            var measures = Dataset(explicitVr, d.UndefinedLengthSequences, new() { [0x0028_0030] = ("DS", Text(string.Create(CultureInfo.InvariantCulture, $"{ps.Row}\\{ps.Column}"))) });
            var shared = Dataset(explicitVr, d.UndefinedLengthSequences, new() { [0x0028_9110] = ("SQ", Sequence([measures], d.UndefinedLengthSequences)) });
            e[0x5200_9229] = ("SQ", Sequence([shared], d.UndefinedLengthSequences));
        }
        if (d.ObjectiveLensPower is { } power)
        {
            var path = Dataset(explicitVr, d.UndefinedLengthSequences, new()
            {
                [0x0048_0106] = ("SH", Text("1")),
                [0x0048_0112] = ("DS", Text(power.ToString(CultureInfo.InvariantCulture))),
            });
            e[0x0048_0105] = ("SQ", Sequence([path], d.UndefinedLengthSequences));
        }
        if (d.Positions is { } positions)
        {
            var items = positions.Select(p =>
            {
                var plane = Dataset(explicitVr, d.UndefinedLengthSequences, new()
                {
                    [0x0048_021E] = ("SL", U32((uint)p.X)),
                    [0x0048_021F] = ("SL", U32((uint)p.Y)),
                });
                return Dataset(explicitVr, d.UndefinedLengthSequences, new() { [0x0048_021A] = ("SQ", Sequence([plane], d.UndefinedLengthSequences)) });
            }).ToList();
            e[0x5200_9230] = ("SQ", Sequence(items, d.UndefinedLengthSequences));
        }
        if (d.IconFragments is { } iconFragments)
        {
            var icon = new MemoryStream();
            icon.Write(Dataset(explicitVr, d.UndefinedLengthSequences, new()
            {
                [0x0028_0002] = ("US", U16(3)),
                [0x0028_0004] = ("CS", Text("YBR_FULL_422")),
                [0x0028_0010] = ("US", U16(8)),
                [0x0028_0011] = ("US", U16(8)),
                [0x0028_0100] = ("US", U16(8)),
            }));
            Tag(icon, 0x7FE0_0010);
            if (explicitVr)
            {
                icon.Write("OB"u8);
                icon.Write([0, 0]);
            }
            icon.Write(U32(0xFFFF_FFFF));
            Tag(icon, 0xFFFE_E000);
            icon.Write(U32(0)); // empty Basic Offset Table
            foreach (var f in iconFragments)
            {
                Tag(icon, 0xFFFE_E000);
                icon.Write(U32((uint)f.Length));
                icon.Write(f);
            }
            Tag(icon, 0xFFFE_E0DD);
            icon.Write(U32(0));
            e[0x0088_0200] = ("SQ", Sequence([icon.ToArray()], d.UndefinedLengthSequences));
        }
        var fragments = new List<byte[]>();
        var frameStarts = new List<long>();
        if (encapsulated)
        {
            long offset = 0;
            foreach (var frame in d.Frames)
            {
                frameStarts.Add(offset);
                var per = Math.Max(1, d.FragmentsPerFrame);
                var size = ((frame.Length + per - 1) / per + 1) & ~1; // even, so only a frame's last fragment is padded
                for (var i = 0; i < frame.Length; i += size)
                {
                    var part = frame.AsSpan(i, Math.Min(size, frame.Length - i)).ToArray();
                    if (part.Length % 2 == 1)
                    {
                        part = [.. part, 0];
                    }
                    fragments.Add(part);
                    offset += 8 + part.Length;
                }
            }
            if (d.ExtendedOffsetTable)
            {
                e[0x7FE0_0001] = ("OV", [.. frameStarts.SelectMany(s => U64((ulong)s))]);
                e[0x7FE0_0002] = ("OV", [.. d.Frames.SelectMany(f => U64((ulong)f.Length))]);
            }
        }
        foreach (var (tag, (vr, value)) in e)
        {
            if (vr == "SQ")
            {
                SequenceElement(ms, explicitVr, tag, value, d.UndefinedLengthSequences);
            }
            else
            {
                Element(ms, explicitVr, tag, vr, value);
            }
        }
        if (encapsulated)
        {
            Tag(ms, 0x7FE0_0010);
            ms.Write("OB"u8);
            ms.Write([0, 0]);
            ms.Write(U32(0xFFFF_FFFF));
            Tag(ms, 0xFFFE_E000);
            var bot = d.BasicOffsetTable ? frameStarts.SelectMany(s => U32((uint)s)).ToArray() : [];
            ms.Write(U32((uint)bot.Length));
            ms.Write(bot);
            foreach (var f in fragments)
            {
                Tag(ms, 0xFFFE_E000);
                ms.Write(U32((uint)f.Length));
                ms.Write(f);
            }
            Tag(ms, 0xFFFE_E0DD);
            ms.Write(U32(0));
        }
        else
        {
            var pixels = d.Frames.SelectMany(f => f).ToArray();
            if (pixels.Length % 2 == 1)
            {
                pixels = [.. pixels, 0];
            }
            Element(ms, explicitVr, 0x7FE0_0010, "OB", pixels);
        }
        return ms.ToArray();
    }

    /// <summary>An item's encoded elements (a data set), in tag order.</summary>
    private static byte[] Dataset(bool explicitVr, bool undefined, SortedDictionary<uint, (string Vr, byte[] Value)> elements)
    {
        var ms = new MemoryStream();
        foreach (var (tag, (vr, value)) in elements)
        {
            if (vr == "SQ")
            {
                SequenceElement(ms, explicitVr, tag, value, undefined);
            }
            else
            {
                Element(ms, explicitVr, tag, vr, value);
            }
        }
        return ms.ToArray();
    }

    /// <summary>The items of a sequence (item headers and, for undefined length, delimiters).</summary>
    private static byte[] Sequence(IEnumerable<byte[]> items, bool undefined)
    {
        var ms = new MemoryStream();
        foreach (var item in items)
        {
            Tag(ms, 0xFFFE_E000);
            ms.Write(U32(undefined ? 0xFFFF_FFFF : (uint)item.Length));
            ms.Write(item);
            if (undefined)
            {
                Tag(ms, 0xFFFE_E00D);
                ms.Write(U32(0));
            }
        }
        return ms.ToArray();
    }

    private static void SequenceElement(Stream s, bool explicitVr, uint tag, byte[] items, bool undefined)
    {
        Tag(s, tag);
        if (explicitVr)
        {
            s.Write("SQ"u8);
            s.Write([0, 0]);
        }
        s.Write(U32(undefined ? 0xFFFF_FFFF : (uint)items.Length));
        s.Write(items);
        if (undefined)
        {
            Tag(s, 0xFFFE_E0DD);
            s.Write(U32(0));
        }
    }

    private static void Element(Stream s, bool explicitVr, uint tag, string vr, byte[] value)
    {
        Tag(s, tag);
        if (!explicitVr)
        {
            s.Write(U32((uint)value.Length));
        }
        else if (LongVrs.Contains(vr))
        {
            s.Write(Encoding.ASCII.GetBytes(vr));
            s.Write([0, 0]);
            s.Write(U32((uint)value.Length));
        }
        else
        {
            s.Write(Encoding.ASCII.GetBytes(vr));
            s.Write(U16((ushort)value.Length));
        }
        s.Write(value);
    }

    private static void Tag(Stream s, uint tag)
    {
        s.Write(U16((ushort)(tag >> 16)));
        s.Write(U16((ushort)tag));
    }

    private static byte[] Text(string v) => Encoding.ASCII.GetBytes(v.Length % 2 == 1 ? v + " " : v);

    private static byte[] Ui(string v) => Encoding.ASCII.GetBytes(v.Length % 2 == 1 ? v + "\0" : v);

    private static byte[] U16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }
}
