using System.Buffers.Binary;
using System.Text;

namespace Histoscale.Slides.Tests.Support;

/// <summary>
/// A hand-assembled little-endian classic TIFF of flat-colour, uncompressed RGB pages (stripped or tiled) with any
/// extra tags: the vendor tags our writer has no reason to emit (NDPI's 65420, Ventana's XMP), so tests can build
/// small stand-ins for vendor files. Also linked into the CLI tests.
/// </summary>
public sealed class MiniTiff
{
    private readonly List<(int Width, int Height, int Tile, List<(ushort Tag, ushort Type, int Count, byte[] Value)> Tags)> _pages = [];

    /// <summary>Adds a page; <paramref name="tile"/> 0 writes one strip. Extra tag values: int/long (LONG), string (ASCII), byte[] (BYTE), double (RATIONAL).</summary>
    public MiniTiff Page(int width, int height, int tile = 0, string? description = null, params (ushort Tag, object Value)[] extra)
    {
        var tags = new List<(ushort, ushort, int, byte[])>();
        if (description is not null)
        {
            tags.Add(Encode(270, description));
        }
        tags.AddRange(extra.Select(e => Encode(e.Tag, e.Value)));
        _pages.Add((width, height, tile, tags));
        return this;
    }

    public byte[] ToBytes()
    {
        var file = new List<byte>(Header());
        var link = 4; // where the offset of the next IFD goes
        foreach (var (width, height, tile, extra) in _pages)
        {
            var chunks = tile > 0 ? ((width + tile - 1) / tile) * ((height + tile - 1) / tile) : 1;
            var chunkBytes = tile > 0 ? tile * tile * 3 : width * height * 3;
            var offsets = new List<long>();
            for (var i = 0; i < chunks; i++)
            {
                offsets.Add(file.Count);
                file.AddRange(Enumerable.Repeat((byte)200, chunkBytes));
            }
            var tags = new List<(ushort Tag, ushort Type, int Count, byte[] Value)>
            {
                Encode(256, width), Encode(257, height), (258, 3, 3, Shorts(8, 8, 8)), (259, 3, 1, Shorts(1)), (262, 3, 1, Shorts(2)), (277, 3, 1, Shorts(3)),
            };
            if (tile > 0)
            {
                tags.AddRange([Encode(322, tile), Encode(323, tile), (324, 4, chunks, Longs(offsets)), (325, 4, chunks, Longs(Enumerable.Repeat((long)chunkBytes, chunks)))]);
            }
            else
            {
                tags.AddRange([(273, 4, 1, Longs(offsets)), Encode(278, height), Encode(279, chunkBytes)]);
            }
            tags.AddRange(extra);
            tags.Sort((a, b) => a.Tag.CompareTo(b.Tag));
            // Values over 4 bytes go out of line, before the IFD.
            var inline = new List<byte[]>();
            foreach (var t in tags)
            {
                if (t.Value.Length <= 4)
                {
                    inline.Add([.. t.Value, .. new byte[4 - t.Value.Length]]);
                    continue;
                }
                Align(file);
                inline.Add(U32(file.Count));
                file.AddRange(t.Value);
            }
            Align(file);
            var ifd = file.Count;
            BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(file).Slice(link, 4), (uint)ifd);
            file.AddRange(U16(tags.Count));
            for (var i = 0; i < tags.Count; i++)
            {
                file.AddRange(U16(tags[i].Tag));
                file.AddRange(U16(tags[i].Type));
                file.AddRange(U32(tags[i].Count));
                file.AddRange(inline[i]);
            }
            link = file.Count;
            file.AddRange(U32(0));
        }
        return [.. file];
    }

    private static byte[] Header() => [(byte)'I', (byte)'I', 42, 0, 0, 0, 0, 0];

    private static (ushort, ushort, int, byte[]) Encode(ushort tag, object value) => value switch
    {
        int i => (tag, 4, 1, U32(i)),
        long l => (tag, 4, 1, U32(l)),
        string s => (tag, 2, Encoding.ASCII.GetByteCount(s) + 1, [.. Encoding.ASCII.GetBytes(s), 0]),
        byte[] b => (tag, 1, b.Length, b),
        double d => (tag, 5, 1, [.. U32((long)Math.Round(d * 1000)), .. U32(1000)]),
        _ => throw new ArgumentException($"tag {tag}: unsupported value type {value.GetType().Name}"),
    };

    private static void Align(List<byte> file)
    {
        if ((file.Count & 1) != 0)
        {
            file.Add(0);
        }
    }

    private static byte[] U16(int v) => [(byte)v, (byte)(v >> 8)];

    private static byte[] U32(long v) => [(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)];

    private static byte[] Shorts(params int[] values) => [.. values.SelectMany(U16)];

    private static byte[] Longs(IEnumerable<long> values) => [.. values.SelectMany(U32)];
}
