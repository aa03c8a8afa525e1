using System.Buffers.Binary;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Tiff;

/// <summary>
/// The structure of a TIFF or BigTIFF file: byte order, the main IFD chain, and on-demand SubIFDs.
/// Every size and offset read from the file is checked against the file length before it is used,
/// so a lying header can never make us allocate or loop without bound.
/// </summary>
internal sealed class TiffFile
{
    private const int MaxDirectories = 4096;
    private const int MaxEntriesPerDirectory = 4096;
    private const int HeadSize = 256 * 1024;

    private readonly byte[] _head; // speculative read of the file head: usually covers every IFD (saves round trips on remote sources)

    private TiffFile(IByteSource source, bool littleEndian, bool bigTiff, byte[] head)
    {
        Source = source;
        LittleEndian = littleEndian;
        BigTiff = bigTiff;
        _head = head;
    }

    public IByteSource Source { get; }

    public bool LittleEndian { get; }

    public bool BigTiff { get; }

    public IReadOnlyList<TiffDirectory> Directories { get; private set; } = [];

    public string Name => Source.Name;

    /// <summary>Returns null when the bytes are not a TIFF at all; throws <see cref="SlideException"/> when it is a broken TIFF.</summary>
    public static TiffFile? TryOpen(IByteSource source)
    {
        if (source.Length == 0)
        {
            throw new SlideException(source.Name, "empty file");
        }
        var headLen = (int)Math.Min(source.Length, HeadSize);
        var head = new byte[headLen];
        var got = source.Read(0, head);
        if (got < headLen)
        {
            throw new SlideException(source.Name, $"short read: expected {headLen} bytes at offset 0, got {got}");
        }
        if (headLen < 8)
        {
            return null;
        }
        bool little;
        if (head[0] == 'I' && head[1] == 'I')
        {
            little = true;
        }
        else if (head[0] == 'M' && head[1] == 'M')
        {
            little = false;
        }
        else
        {
            return null;
        }
        var magic = little ? BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(2)) : BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(2));
        if (magic != 42 && magic != 43)
        {
            return null;
        }
        var file = new TiffFile(source, little, magic == 43, head);
        long first;
        if (file.BigTiff)
        {
            if (headLen < 16)
            {
                throw new SlideException(source.Name, "truncated BigTIFF header");
            }
            if (file.U16(head.AsSpan(4)) != 8)
            {
                throw new SlideException(source.Name, "unsupported BigTIFF offset size");
            }
            first = (long)file.U64(head.AsSpan(8));
        }
        else
        {
            first = file.U32(head.AsSpan(4));
        }
        file.Directories = file.ReadChain(first);
        return file;
    }

    /// <summary>Reads a directory at an offset (e.g. a SubIFD); the chain after it is not followed.</summary>
    public TiffDirectory ReadDirectory(long offset, int index) => ReadOne(offset, index, out _);

    /// <summary>Reads exactly buffer.Length bytes at offset, or throws naming what was short.</summary>
    public void ReadExactly(long offset, Span<byte> buffer, string what)
    {
        if (offset < 0 || offset > Source.Length || buffer.Length > Source.Length - offset)
        {
            throw new SlideException(Name, $"{what} at offset {offset} (+{buffer.Length} bytes) lies past the end of the file ({Source.Length} bytes)");
        }
        if (offset + buffer.Length <= _head.Length)
        {
            _head.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
            return;
        }
        var n = Source.Read(offset, buffer);
        if (n != buffer.Length)
        {
            throw new SlideException(Name, $"{what}: short read at offset {offset}: expected {buffer.Length} bytes, got {n}");
        }
    }

    internal ushort U16(ReadOnlySpan<byte> b) => LittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);

    internal uint U32(ReadOnlySpan<byte> b) => LittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);

    internal ulong U64(ReadOnlySpan<byte> b) => LittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64BigEndian(b);

    private List<TiffDirectory> ReadChain(long first)
    {
        var dirs = new List<TiffDirectory>();
        var seen = new HashSet<long>();
        var offset = first;
        while (offset != 0)
        {
            if (!seen.Add(offset))
            {
                throw new SlideException(Name, $"IFD chain loops back to offset {offset} after {dirs.Count} directories");
            }
            if (dirs.Count >= MaxDirectories)
            {
                throw new SlideException(Name, $"more than {MaxDirectories} IFDs");
            }
            dirs.Add(ReadOne(offset, dirs.Count, out offset));
        }
        if (dirs.Count == 0)
        {
            throw new SlideException(Name, "TIFF has no image directories");
        }
        return dirs;
    }

    private TiffDirectory ReadOne(long offset, int index, out long next)
    {
        var countSize = BigTiff ? 8 : 2;
        var entrySize = BigTiff ? 20 : 12;
        Span<byte> countBytes = stackalloc byte[8];
        ReadExactly(offset, countBytes[..countSize], $"IFD {index}");
        var count = BigTiff ? (long)U64(countBytes) : U16(countBytes);
        if (count <= 0 || count > MaxEntriesPerDirectory)
        {
            throw new SlideException(Name, $"IFD {index} at offset {offset} claims {count} entries");
        }
        var block = new byte[count * entrySize + (BigTiff ? 8 : 4)];
        ReadExactly(offset + countSize, block, $"IFD {index} entries");
        var entries = new Dictionary<ushort, TiffEntry>((int)count);
        Span<byte> inline = stackalloc byte[8];
        for (var i = 0; i < count; i++)
        {
            var e = block.AsSpan(i * entrySize, entrySize);
            var tag = U16(e);
            var type = (TiffType)U16(e[2..]);
            var n = BigTiff ? (long)Math.Min(U64(e[4..]), long.MaxValue) : U32(e[4..]);
            var valueField = BigTiff ? e.Slice(12, 8) : e.Slice(8, 4);
            var entry = new TiffEntry(tag, type, n, 0, 0, false);
            var size = entry.ByteSize;
            if (size < 0)
            {
                continue; // unknown type or overflowing count: ignore the entry, as libtiff does
            }
            if (size <= valueField.Length)
            {
                inline.Clear();
                valueField.CopyTo(inline);
                entries[tag] = entry with { InlineBits = BinaryPrimitives.ReadUInt64LittleEndian(inline), IsInline = true };
            }
            else
            {
                var valueOffset = BigTiff ? (long)Math.Min(U64(valueField), long.MaxValue) : U32(valueField);
                entries[tag] = entry with { ValueOffset = valueOffset };
            }
        }
        var nextField = block.AsSpan((int)(count * entrySize));
        next = BigTiff ? (long)Math.Min(U64(nextField), long.MaxValue) : U32(nextField);
        return new TiffDirectory(this, index, offset, entries);
    }
}
