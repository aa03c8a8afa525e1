using System.Buffers.Binary;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Lays out one IFD and the out-of-line values it points to, for classic TIFF (12-byte entries, 4-byte inline
/// values) or BigTIFF (20-byte entries, 8-byte inline values). Values follow the IFD, each word-aligned.
/// </summary>
internal static class TiffIfdSerializer
{
    /// <summary>Bytes the IFD plus its out-of-line values take; depends only on field sizes, never on offsets.</summary>
    public static long Size(IReadOnlyList<TiffField> fields, bool bigTiff)
    {
        var inline = bigTiff ? 8 : 4;
        long size = HeaderSize(fields.Count, bigTiff);
        foreach (var f in fields)
        {
            if (f.Value.Length > inline)
            {
                size += Align(f.Value.Length);
            }
        }
        return size;
    }

    /// <summary>Serialises the IFD that will live at <paramref name="offset"/>; fields must be sorted by tag.</summary>
    public static byte[] Serialize(IReadOnlyList<TiffField> fields, long offset, long nextIfd, bool bigTiff)
    {
        var buffer = new byte[Size(fields, bigTiff)];
        var span = buffer.AsSpan();
        var inline = bigTiff ? 8 : 4;
        var entry = bigTiff ? 20 : 12;
        var pos = 0;
        if (bigTiff)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)fields.Count);
            pos = 8;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)fields.Count));
            pos = 2;
        }
        long extra = HeaderSize(fields.Count, bigTiff);
        ushort previous = 0;
        foreach (var f in fields)
        {
            if (f.Tag <= previous && pos > (bigTiff ? 8 : 2))
            {
                throw new InvalidOperationException($"IFD fields out of order at tag {f.Tag}");
            }
            previous = f.Tag;
            var e = span.Slice(pos, entry);
            BinaryPrimitives.WriteUInt16LittleEndian(e, f.Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(e[2..], (ushort)f.Type);
            if (bigTiff)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(e[4..], (ulong)f.Count);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(e[4..], checked((uint)f.Count));
            }
            var valueSlot = e.Slice(bigTiff ? 12 : 8, inline);
            if (f.Value.Length <= inline)
            {
                f.Value.CopyTo(valueSlot); // left-justified, rest stays zero as the spec asks
            }
            else
            {
                var at = offset + extra;
                if (bigTiff)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(valueSlot, (ulong)at);
                }
                else
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(valueSlot, checked((uint)at));
                }
                f.Value.CopyTo(span[(int)extra..]);
                extra += Align(f.Value.Length);
            }
            pos += entry;
        }
        if (bigTiff)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[pos..], (ulong)nextIfd);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[pos..], checked((uint)nextIfd));
        }
        return buffer;
    }

    private static long HeaderSize(int count, bool bigTiff) => bigTiff ? 8 + (20L * count) + 8 : 2 + (12L * count) + 4;

    private static long Align(long n) => (n + 1) & ~1L;
}
