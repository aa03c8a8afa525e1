using System.Buffers.Binary;

namespace Histoscale.Slides.Tests.Support;

/// <summary>Edits a little-endian classic TIFF in memory to build broken files: entry values, next-IFD links, tile bytes.</summary>
public sealed class TiffPatcher
{
    public TiffPatcher(byte[] bytes)
    {
        Bytes = bytes;
        Assert.True(bytes[0] == 'I' && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2)) == 42, "patcher handles little-endian classic TIFF");
        for (long offset = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)); offset != 0;)
        {
            IfdOffsets.Add(offset);
            var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)offset));
            offset = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offset + 2 + (count * 12)));
        }
    }

    public byte[] Bytes { get; }

    public List<long> IfdOffsets { get; } = [];

    /// <summary>Position of the 12-byte entry for <paramref name="tag"/> in IFD <paramref name="ifd"/>.</summary>
    public int Entry(int ifd, ushort tag)
    {
        var offset = (int)IfdOffsets[ifd];
        var count = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(offset));
        for (var i = 0; i < count; i++)
        {
            var e = offset + 2 + (i * 12);
            if (BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(e)) == tag)
            {
                return e;
            }
        }
        throw new InvalidOperationException($"tag {tag} not in IFD {ifd}");
    }

    /// <summary>Replaces a single-valued entry by a LONG with the given value (inline).</summary>
    public void SetLong(int ifd, ushort tag, uint value)
    {
        var e = Entry(ifd, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(e + 2), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(e + 4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(e + 8), value);
    }

    /// <summary>Element <paramref name="index"/> of an out-of-line LONG array (tile offsets or byte counts).</summary>
    public uint GetArray(int ifd, ushort tag, int index)
    {
        var e = Entry(ifd, tag);
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(e + 2)));
        var at = (int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(e + 8));
        return BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(at + (index * 4)));
    }

    public void SetArray(int ifd, ushort tag, int index, uint value)
    {
        var e = Entry(ifd, tag);
        var at = (int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(e + 8));
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(at + (index * 4)), value);
    }

    /// <summary>Points IFD <paramref name="ifd"/>'s next link at <paramref name="target"/>.</summary>
    public void SetNext(int ifd, uint target)
    {
        var offset = (int)IfdOffsets[ifd];
        var count = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(offset));
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(offset + 2 + (count * 12)), target);
    }
}
