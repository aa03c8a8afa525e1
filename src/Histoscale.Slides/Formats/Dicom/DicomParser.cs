using System.Buffers.Binary;
using System.Text;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>Where one encapsulated fragment's bytes lie in the file.</summary>
internal readonly record struct DicomFragment(long Offset, int Length);

/// <summary>A parsed Part 10 file: its meta information, its data set (up to the pixel data), and where the pixel data lies.</summary>
internal sealed class DicomFile
{
    public required string Name { get; init; }

    public required string TransferSyntax { get; init; }

    public required DicomDataset Meta { get; init; }

    public required DicomDataset Dataset { get; init; }

    /// <summary>The Pixel Data element (native: <see cref="DicomElement.Offset"/>/<see cref="DicomElement.Length"/>); null when absent.</summary>
    public DicomElement? PixelData { get; init; }

    /// <summary>Encapsulated pixel data: the Basic Offset Table's entries (empty when the table is empty).</summary>
    public IReadOnlyList<long> BasicOffsets { get; init; } = [];

    /// <summary>Encapsulated pixel data: each fragment, in order; offsets of frames are relative to the first fragment's item tag.</summary>
    public IReadOnlyList<DicomFragment> Fragments { get; init; } = [];

    /// <summary>Encapsulated pixel data: file offset of the first fragment's item tag (what offset tables count from).</summary>
    public long FirstFragmentItem { get; init; }

    public bool IsEncapsulated => PixelData is { Length: -1 };
}

/// <summary>
/// A small Part 10 reader written for whole-slide images: preamble and "DICM", the explicit VR little endian meta
/// group, the data set in explicit or implicit VR little endian, defined and undefined-length sequences and items,
/// and the pixel data (native, or encapsulated: Basic Offset Table and fragments; the Extended Offset Table is an
/// ordinary element). Pixel values are never read here: only where they are. Every length is checked against the
/// file and the enclosing item before it is used, and nesting is bounded, so a malformed file ends in a
/// <see cref="SlideException"/> naming the file, tag and offset, never an out-of-range read or a hang.
/// </summary>
internal static class DicomParser
{
    public const string ExplicitVrLittleEndian = "1.2.840.10008.1.2.1";
    public const string ImplicitVrLittleEndian = "1.2.840.10008.1.2";

    /// <summary>Values larger than this are recorded by position, not read (nothing the reader needs is this large except pixel data).</summary>
    private const long MaxKeptValue = 8 * 1024 * 1024;

    /// <summary>Largest Basic Offset Table read (16 M frames); a larger length is corrupt data, not an allocation to attempt.</summary>
    private const long MaxBasicOffsetTable = 64 * 1024 * 1024;

    private const int MaxDepth = 12;
    private const long UndefinedLength = 0xFFFF_FFFF;

    /// <summary>VRs whose explicit header has two reserved bytes and a 32-bit length.</summary>
    private static readonly HashSet<string> LongVrs = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"];

    /// <summary>True when the source holds "DICM" at offset 128 (a Part 10 file).</summary>
    public static bool HasMagic(IByteSource source)
    {
        if (source.Length < 132)
        {
            return false;
        }
        Span<byte> magic = stackalloc byte[4];
        return source.Read(128, magic) == 4 && magic.SequenceEqual("DICM"u8);
    }

    /// <summary>Parses the file's structure. Throws <see cref="SlideException"/> for anything malformed or of an unsupported encoding.</summary>
    public static DicomFile Parse(IByteSource source) => Parse(source, uint.MaxValue);

    /// <summary>
    /// Parses only the meta group and the data set's elements up to the Series Instance UID (0020,000E): SOP class,
    /// SOP instance and series, from the file's first bytes, without walking its per-frame groups or pixel data. What
    /// a folder scan reads to tell which series a file belongs to (or, for a file the full parse refuses, which series
    /// it was meant to be part of). Throws <see cref="SlideException"/> when even that part is malformed.
    /// </summary>
    public static DicomFile ParseHeader(IByteSource source) => Parse(source, DicomTags.SeriesInstanceUid);

    private static DicomFile Parse(IByteSource source, uint stopAfter)
    {
        var reader = new Reader(source);
        if (!HasMagic(source))
        {
            throw new SlideException(source.Name, "not a DICOM Part 10 file (no \"DICM\" after the 128-byte preamble)");
        }
        reader.Position = 132;
        var meta = new DicomDataset();
        while (reader.Position + 8 <= source.Length && reader.PeekGroup() == 0x0002)
        {
            meta.Add(reader.ReadElement(explicitVr: true, end: source.Length, depth: 0));
        }
        var syntax = meta.GetString(DicomTags.TransferSyntaxUid)
            ?? throw new SlideException(source.Name, "DICOM file meta information has no Transfer Syntax UID (0002,0010)");
        var explicitVr = syntax != ImplicitVrLittleEndian;
        if (syntax is "1.2.840.10008.1.2.2" or "1.2.840.10008.1.2.1.99")
        {
            if (stopAfter != uint.MaxValue)
            {
                // A header read: the meta group's Media Storage SOP Class/Instance UIDs are what can be told.
                return new DicomFile { Name = source.Name, TransferSyntax = syntax, Meta = meta, Dataset = new DicomDataset() };
            }
            throw new SlideException(source.Name, $"unsupported DICOM transfer syntax {syntax} ({(syntax.EndsWith(".99", StringComparison.Ordinal) ? "deflated" : "big endian")} data set)");
        }
        var dataset = new DicomDataset();
        DicomElement? pixelData = null;
        List<long> basic = [];
        List<DicomFragment> fragments = [];
        long firstItem = 0;
        while (reader.Position + 8 <= source.Length)
        {
            var tag = reader.PeekTag();
            if (tag > stopAfter)
            {
                return new DicomFile { Name = source.Name, TransferSyntax = syntax, Meta = meta, Dataset = dataset };
            }
            if (tag == DicomTags.PixelData)
            {
                pixelData = reader.ReadPixelData(explicitVr, basic, fragments, out firstItem);
                break;
            }
            if (tag > DicomTags.PixelData)
            {
                break; // trailing padding and the like: nothing after the pixel data matters
            }
            dataset.Add(reader.ReadElement(explicitVr, source.Length, depth: 0));
        }
        if (reader.Position < source.Length && reader.Position + 8 > source.Length && pixelData is null)
        {
            throw reader.Fail(reader.Position, null, $"truncated: {source.Length - reader.Position} stray bytes at the end");
        }
        return new DicomFile
        {
            Name = source.Name,
            TransferSyntax = syntax,
            Meta = meta,
            Dataset = dataset,
            PixelData = pixelData,
            BasicOffsets = basic,
            Fragments = fragments,
            FirstFragmentItem = firstItem,
        };
    }

    /// <summary>Sequential reads through a window over the source, every one bounds-checked.</summary>
    private sealed class Reader(IByteSource source)
    {
        private const int WindowSize = 64 * 1024;
        private readonly byte[] _window = new byte[WindowSize];
        private long _windowStart = -1;
        private int _windowLength;

        public long Position { get; set; }

        public SlideException Fail(long offset, uint? tag, string cause) =>
            new(source.Name, $"malformed DICOM{(tag is { } t ? $" element {TagText(t)}" : "")} at offset {offset}: {cause}") { IsCorruptData = true };

        public static string TagText(uint tag) => $"({tag >> 16:X4},{tag & 0xFFFF:X4})";

        public ushort PeekGroup() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(Position, 2, null));

        public uint PeekTag() => ReadTagAt(Position);

        private uint ReadTagAt(long offset)
        {
            var b = Bytes(offset, 4, null);
            return ((uint)BinaryPrimitives.ReadUInt16LittleEndian(b) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        }

        /// <summary><paramref name="count"/> bytes at <paramref name="offset"/> (count ≤ the window), or a "truncated" error.</summary>
        private ReadOnlySpan<byte> Bytes(long offset, int count, uint? tag)
        {
            if (offset < 0 || offset > source.Length - count)
            {
                throw Fail(offset, tag, $"truncated: needs {count} bytes, the file ends at {source.Length}");
            }
            if (_windowStart < 0 || offset < _windowStart || offset + count > _windowStart + _windowLength)
            {
                var length = (int)Math.Min(WindowSize, source.Length - offset);
                var n = source.Read(offset, _window.AsSpan(0, length));
                if (n < count)
                {
                    throw Fail(offset, tag, $"short read: expected {count} bytes, got {n}");
                }
                (_windowStart, _windowLength) = (offset, n);
            }
            return _window.AsSpan((int)(offset - _windowStart), count);
        }

        private byte[] ReadValue(long offset, long length, uint tag)
        {
            if (length > source.Length - offset)
            {
                throw Fail(offset, tag, $"value of {length} bytes runs past the end of the file ({source.Length} bytes)");
            }
            var value = new byte[length];
            var done = 0;
            while (done < length)
            {
                var chunk = (int)Math.Min(WindowSize, length - done);
                Bytes(offset + done, chunk, tag).CopyTo(value.AsSpan(done));
                done += chunk;
            }
            return value;
        }

        /// <summary>Reads one element header at <see cref="Position"/>: tag, VR, length, and the offset its value starts at.</summary>
        private (uint Tag, string Vr, long Length, long ValueOffset) Header(bool explicitVr, long end, uint? within = null)
        {
            var start = Position;
            if (start + 8 > end)
            {
                throw Fail(start, within, $"truncated {(within is null ? "element" : "item")} header (the enclosing data ends at {end})");
            }
            var tag = ReadTagAt(start);
            if (tag is DicomTags.Item or DicomTags.ItemDelimitation or DicomTags.SequenceDelimitation)
            {
                return (tag, "", BinaryPrimitives.ReadUInt32LittleEndian(Bytes(start + 4, 4, tag)), start + 8);
            }
            if (!explicitVr)
            {
                return (tag, DicomTags.ImplicitVr(tag), BinaryPrimitives.ReadUInt32LittleEndian(Bytes(start + 4, 4, tag)), start + 8);
            }
            var vrBytes = Bytes(start + 4, 2, tag);
            if (vrBytes[0] is < (byte)'A' or > (byte)'Z' || vrBytes[1] is < (byte)'A' or > (byte)'Z')
            {
                throw Fail(start, tag, $"invalid VR bytes 0x{vrBytes[0]:X2} 0x{vrBytes[1]:X2} (is the transfer syntax right?)");
            }
            var vr = Encoding.ASCII.GetString(vrBytes);
            if (LongVrs.Contains(vr))
            {
                if (start + 12 > end)
                {
                    throw Fail(start, tag, $"truncated element header (the enclosing data ends at {end})");
                }
                return (tag, vr, BinaryPrimitives.ReadUInt32LittleEndian(Bytes(start + 8, 4, tag)), start + 12);
            }
            return (tag, vr, BinaryPrimitives.ReadUInt16LittleEndian(Bytes(start + 6, 2, tag)), start + 8);
        }

        public DicomElement ReadElement(bool explicitVr, long end, int depth)
        {
            var start = Position;
            var (tag, vr, length, valueOffset) = Header(explicitVr, end);
            if (tag is DicomTags.Item or DicomTags.ItemDelimitation or DicomTags.SequenceDelimitation)
            {
                throw Fail(start, tag, "item or delimiter outside a sequence");
            }
            var undefined = length == UndefinedLength;
            if (undefined && (vr is "OB" or "OW" || tag == DicomTags.PixelData))
            {
                // Encapsulated data below the top level (e.g. an icon's pixel data): fragments, not a sequence of elements.
                return SkipFragments(tag, vr, valueOffset, end);
            }
            if (vr == "SQ" || (undefined && vr == "UN"))
            {
                // Undefined-length UN is a sequence in implicit VR little endian (PS3.5 6.2.2).
                return ReadSequence(tag, explicitVr && vr != "UN", valueOffset, length, end, depth);
            }
            if (undefined)
            {
                throw Fail(start, tag, $"undefined length on a {vr} element");
            }
            if (length > end - valueOffset)
            {
                throw Fail(start, tag, $"value of {length} bytes runs past the end of its data ({end - valueOffset} bytes left)");
            }
            Position = valueOffset + length;
            return new DicomElement
            {
                Tag = tag,
                Vr = vr,
                Offset = valueOffset,
                Length = length,
                Value = length <= MaxKeptValue ? ReadValue(valueOffset, length, tag) : null,
            };
        }

        private DicomElement SkipFragments(uint tag, string vr, long valueOffset, long end)
        {
            Position = valueOffset;
            while (true)
            {
                var itemStart = Position;
                var (itemTag, _, itemLength, itemValue) = Header(explicitVr: false, end, tag);
                if (itemTag == DicomTags.SequenceDelimitation)
                {
                    Position = itemValue;
                    return new DicomElement { Tag = tag, Vr = vr, Offset = valueOffset, Length = -1 };
                }
                if (itemTag != DicomTags.Item)
                {
                    throw Fail(itemStart, tag, $"expected a fragment item {TagText(DicomTags.Item)} in encapsulated data, found {TagText(itemTag)}");
                }
                if (itemLength == UndefinedLength || itemLength > end - itemValue)
                {
                    throw Fail(itemStart, tag, $"fragment of {(itemLength == UndefinedLength ? "undefined" : itemLength.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes runs past the end of its data ({end - itemValue} bytes left)");
                }
                Position = itemValue + itemLength;
            }
        }

        private DicomElement ReadSequence(uint tag, bool explicitVr, long valueOffset, long length, long end, int depth)
        {
            if (depth >= MaxDepth)
            {
                throw Fail(valueOffset, tag, $"sequences nested deeper than {MaxDepth}");
            }
            var undefined = length == UndefinedLength;
            if (!undefined && length > end - valueOffset)
            {
                throw Fail(valueOffset, tag, $"sequence of {length} bytes runs past the end of its data ({end - valueOffset} bytes left)");
            }
            var seqEnd = undefined ? end : valueOffset + length;
            var items = new List<DicomDataset>();
            Position = valueOffset;
            while (true)
            {
                if (!undefined && Position == seqEnd)
                {
                    break;
                }
                var itemStart = Position;
                var (itemTag, _, itemLength, itemValue) = Header(explicitVr, seqEnd, tag);
                if (itemTag == DicomTags.SequenceDelimitation && undefined)
                {
                    Position = itemValue;
                    break;
                }
                if (itemTag != DicomTags.Item)
                {
                    throw Fail(itemStart, tag, $"expected an item {TagText(DicomTags.Item)} in the sequence, found {TagText(itemTag)}");
                }
                var item = new DicomDataset();
                var itemUndefined = itemLength == UndefinedLength;
                if (!itemUndefined && itemLength > seqEnd - itemValue)
                {
                    throw Fail(itemStart, tag, $"item of {itemLength} bytes runs past the end of its sequence");
                }
                var itemEnd = itemUndefined ? seqEnd : itemValue + itemLength;
                Position = itemValue;
                while (true)
                {
                    if (!itemUndefined && Position == itemEnd)
                    {
                        break;
                    }
                    if (itemUndefined && Position + 8 <= itemEnd && PeekTag() == DicomTags.ItemDelimitation)
                    {
                        Position += 8;
                        break;
                    }
                    if (itemUndefined && Position + 8 > itemEnd)
                    {
                        throw Fail(Position, tag, "item has no item delimiter before the data ends");
                    }
                    item.Add(ReadElement(explicitVr, itemEnd, depth + 1));
                }
                items.Add(item);
            }
            return new DicomElement { Tag = tag, Vr = "SQ", Offset = valueOffset, Length = length, Items = items };
        }

        public DicomElement ReadPixelData(bool explicitVr, List<long> basic, List<DicomFragment> fragments, out long firstItem)
        {
            var start = Position;
            var (tag, vr, length, valueOffset) = Header(explicitVr, source.Length);
            firstItem = 0;
            if (length != UndefinedLength)
            {
                if (length > source.Length - valueOffset)
                {
                    throw Fail(start, tag, $"native pixel data of {length} bytes runs past the end of the file ({source.Length - valueOffset} bytes left)");
                }
                Position = valueOffset + length;
                return new DicomElement { Tag = tag, Vr = vr, Offset = valueOffset, Length = length };
            }
            // Encapsulated: the first item is the Basic Offset Table, then one item per fragment, then a sequence delimiter.
            Position = valueOffset;
            var first = true;
            while (true)
            {
                var itemStart = Position;
                var (itemTag, _, itemLength, itemValue) = Header(explicitVr: false, source.Length, tag);
                if (itemTag == DicomTags.SequenceDelimitation)
                {
                    Position = itemValue;
                    break;
                }
                if (itemTag != DicomTags.Item)
                {
                    throw Fail(itemStart, tag, $"expected a fragment item {TagText(DicomTags.Item)} in encapsulated pixel data, found {TagText(itemTag)}");
                }
                if (itemLength == UndefinedLength || itemLength > source.Length - itemValue)
                {
                    throw Fail(itemStart, tag, $"fragment of {(itemLength == UndefinedLength ? "undefined" : itemLength.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes runs past the end of the file ({source.Length - itemValue} bytes left)");
                }
                if (first)
                {
                    if (itemLength % 4 != 0)
                    {
                        throw Fail(itemStart, tag, $"Basic Offset Table length {itemLength} is not a multiple of 4");
                    }
                    if (itemLength > MaxBasicOffsetTable)
                    {
                        throw Fail(itemStart, tag, $"Basic Offset Table length {itemLength} is larger than the {MaxBasicOffsetTable} bytes allowed");
                    }
                    var table = ReadValue(itemValue, itemLength, tag);
                    for (var i = 0; i < table.Length; i += 4)
                    {
                        basic.Add(BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i)));
                    }
                    first = false;
                    firstItem = itemValue + itemLength;
                }
                else
                {
                    if (itemLength > int.MaxValue)
                    {
                        throw Fail(itemStart, tag, $"fragment of {itemLength} bytes is too large");
                    }
                    fragments.Add(new DicomFragment(itemValue, (int)itemLength));
                }
                Position = itemValue + itemLength;
            }
            return new DicomElement { Tag = tag, Vr = vr, Offset = valueOffset, Length = -1 };
        }
    }
}
