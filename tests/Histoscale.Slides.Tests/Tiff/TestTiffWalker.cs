using System.Buffers.Binary;
using System.Text;

namespace Histoscale.Slides.Tests.Tiff;

/// <summary>A deliberately independent little-endian TIFF/BigTIFF IFD parser, so writer tests don't trust the writer.</summary>
internal sealed class TestTiffWalker
{
    private readonly byte[] _file;

    public TestTiffWalker(string path)
    {
        _file = File.ReadAllBytes(path);
        Assert.Equal((byte)'I', _file[0]);
        Assert.Equal((byte)'I', _file[1]);
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(_file.AsSpan(2));
        Assert.True(magic is 42 or 43, $"magic {magic}");
        BigTiff = magic == 43;
        var offset = BigTiff ? (long)BinaryPrimitives.ReadUInt64LittleEndian(_file.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(_file.AsSpan(4));
        var seen = new HashSet<long>();
        while (offset != 0)
        {
            Assert.True(seen.Add(offset), "IFD loop");
            Assert.Equal(0, offset & 1);
            var ifd = ReadIfd(offset, out offset);
            Pages.Add(ifd);
        }
    }

    public bool BigTiff { get; }

    public List<Ifd> Pages { get; } = [];

    public ReadOnlySpan<byte> Bytes(long offset, long count) => _file.AsSpan((int)offset, (int)count);

    public Ifd SubIfd(Ifd parent, int index) => ReadIfd(parent.Values(330)[index], out _);

    private Ifd ReadIfd(long offset, out long next)
    {
        var s = _file.AsSpan();
        var count = BigTiff ? (long)BinaryPrimitives.ReadUInt64LittleEndian(s[(int)offset..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[(int)offset..]);
        var pos = offset + (BigTiff ? 8 : 2);
        var ifd = new Ifd(this);
        var last = -1;
        for (var i = 0; i < count; i++)
        {
            var e = s[(int)pos..];
            var tag = BinaryPrimitives.ReadUInt16LittleEndian(e);
            Assert.True(tag > last, $"tags not ascending at {tag}");
            last = tag;
            var type = BinaryPrimitives.ReadUInt16LittleEndian(e[2..]);
            var n = BigTiff ? (long)BinaryPrimitives.ReadUInt64LittleEndian(e[4..]) : BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            var size = type switch { 1 or 2 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 11 or 13 => 4, _ => 8 } * n;
            var inline = BigTiff ? 8 : 4;
            var valueAt = pos + (BigTiff ? 12 : 8);
            var dataAt = size <= inline ? valueAt : BigTiff ? (long)BinaryPrimitives.ReadUInt64LittleEndian(e[12..]) : BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            ifd.Entries[tag] = (type, n, _file.AsSpan((int)dataAt, (int)size).ToArray());
            pos += BigTiff ? 20 : 12;
        }
        next = BigTiff ? (long)BinaryPrimitives.ReadUInt64LittleEndian(s[(int)pos..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[(int)pos..]);
        return ifd;
    }

    internal sealed class Ifd(TestTiffWalker file)
    {
        public Dictionary<int, (int Type, long Count, byte[] Data)> Entries { get; } = [];

        public bool Has(int tag) => Entries.ContainsKey(tag);

        public int Type(int tag) => Entries[tag].Type;

        public long[] Values(int tag)
        {
            var (type, count, data) = Entries[tag];
            var result = new long[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = type switch
                {
                    1 or 7 => data[i],
                    3 => BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i * 2)),
                    4 or 13 => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(i * 4)),
                    16 or 18 => (long)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i * 8)),
                    _ => throw new InvalidOperationException($"type {type}"),
                };
            }
            return result;
        }

        public long Value(int tag) => Values(tag)[0];

        public string Text(int tag) => Encoding.ASCII.GetString(Entries[tag].Data).TrimEnd('\0');

        public byte[] Raw(int tag) => Entries[tag].Data;

        public double Rational(int tag)
        {
            var d = Entries[tag].Data;
            return (double)BinaryPrimitives.ReadUInt32LittleEndian(d) / BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(4));
        }

        /// <summary>Bytes of tile or strip <paramref name="index"/>.</summary>
        public byte[] Chunk(int index)
        {
            var offsets = Values(Has(324) ? 324 : 273);
            var counts = Values(Has(325) ? 325 : 279);
            return file.Bytes(offsets[index], counts[index]).ToArray();
        }
    }
}
