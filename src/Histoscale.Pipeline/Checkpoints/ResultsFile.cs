using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Histoscale.Pipeline.Checkpoints;

/// <summary>
/// The checkpoint of a slide in progress: an append-only file of model outputs in plan order, one record per
/// completed batch, so an interrupted run resumes after its last complete record.
/// <para>Format (little-endian): header = "HSRSLT01", int32 values per tile V, int32 tiles in the plan,
/// int32 n, n bytes UTF-8 plan fingerprint. Then records: uint32 0x31435248 ("HRC1"), int32 first tile index,
/// int32 tile count k, k·V float32 values (tile-major), uint32 CRC-32 of the first-index, count and value bytes.
/// Records are contiguous: each starts where the previous ended in tile order. A record cut short or failing its
/// CRC (a crash mid-write) ends the valid prefix and is truncated away on resume.</para>
/// Appends are fsync'd at most every <see cref="DurableInterval"/> and always on <see cref="Flush"/>.
/// </summary>
internal sealed class ResultsFile : IDisposable
{
    private const uint RecordMagic = 0x31435248;
    private static readonly byte[] Magic = "HSRSLT01"u8.ToArray();

    private readonly FileStream _stream;
    private long _lastDurable = Environment.TickCount64;
    private byte[] _buffer = [];

    private ResultsFile(FileStream stream, int valuesPerTile, int planTiles, int tilesDone)
    {
        _stream = stream;
        ValuesPerTile = valuesPerTile;
        PlanTiles = planTiles;
        TilesDone = tilesDone;
    }

    /// <summary>
    /// The value every output of a tile that could not be read is stored as: a NaN with a payload of its own, so
    /// a resumed run knows the tile's status from the checkpoint alone, and no model's NaN is taken for it.
    /// </summary>
    public static readonly float Unreadable = BitConverter.Int32BitsToSingle(0x7FC0_0BAD);

    /// <summary>Whether a tile's stored outputs say it could not be read.</summary>
    public static bool IsUnreadable(ReadOnlySpan<float> values) =>
        values.Length > 0 && BitConverter.SingleToInt32Bits(values[0]) == BitConverter.SingleToInt32Bits(Unreadable);

    /// <summary>
    /// The value every output of a tile left out by quality control (<c>infer --qc</c>) is stored as: it was never read
    /// nor inferred; the run's QC result says which artifact it lies over.
    /// </summary>
    public static readonly float Excluded = BitConverter.Int32BitsToSingle(0x7FC0_0E1C);

    /// <summary>Whether a tile's stored outputs say quality control left it out.</summary>
    public static bool IsExcluded(ReadOnlySpan<float> values) =>
        values.Length > 0 && BitConverter.SingleToInt32Bits(values[0]) == BitConverter.SingleToInt32Bits(Excluded);

    public static TimeSpan DurableInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public int ValuesPerTile { get; }

    public int PlanTiles { get; }

    /// <summary>Tiles whose outputs are in the file (a prefix of the plan).</summary>
    public int TilesDone { get; private set; }

    /// <summary>
    /// Opens the checkpoint for appending: resumes a file written for the same plan fingerprint and output width
    /// (dropping a torn last record), or starts a new one otherwise.
    /// </summary>
    public static ResultsFile OpenOrCreate(string path, string fingerprint, int valuesPerTile, int planTiles)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            var header = Header(fingerprint, valuesPerTile, planTiles);
            var done = 0;
            if (stream.Length >= header.Length && StartsWith(stream, header))
            {
                long end = header.Length;
                foreach (var (first, count, recordEnd) in Scan(stream, header.Length, valuesPerTile))
                {
                    if (first != done)
                    {
                        break;
                    }
                    done += count;
                    end = recordEnd;
                }
                stream.SetLength(end); // drop a torn or corrupt tail
            }
            else
            {
                stream.SetLength(0);
                stream.Write(header);
                stream.Flush(flushToDisk: true);
            }
            stream.Position = stream.Length;
            return new ResultsFile(stream, valuesPerTile, planTiles, done);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends the outputs of tiles [TilesDone, TilesDone + count) (count·V values).</summary>
    public void Append(ReadOnlySpan<float> values, int count)
    {
        if (values.Length != count * ValuesPerTile)
        {
            throw new ArgumentException($"{values.Length} values for {count} tiles of {ValuesPerTile}", nameof(values));
        }
        var payload = MemoryMarshal.AsBytes(values);
        var length = 12 + payload.Length + 4;
        if (_buffer.Length < length)
        {
            _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
        }
        var record = _buffer.AsSpan(0, length);
        BinaryPrimitives.WriteUInt32LittleEndian(record, RecordMagic);
        BinaryPrimitives.WriteInt32LittleEndian(record[4..], TilesDone);
        BinaryPrimitives.WriteInt32LittleEndian(record[8..], count);
        payload.CopyTo(record[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record[(12 + payload.Length)..], Crc32.Compute(record[4..(12 + payload.Length)]));
        _stream.Write(record);
        TilesDone += count;
        if (Environment.TickCount64 - _lastDurable >= DurableInterval.TotalMilliseconds)
        {
            Flush();
        }
    }

    /// <summary>Makes everything appended so far durable (fsync).</summary>
    public void Flush()
    {
        _stream.Flush(flushToDisk: true);
        _lastDurable = Environment.TickCount64;
    }

    public void Dispose()
    {
        Flush();
        _stream.Dispose();
    }

    /// <summary>Streams every tile's values of a complete or partial file in plan order.</summary>
    public static IEnumerable<(int Tile, float[] Values)> ReadTiles(string path, int valuesPerTile)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var headerLength = ReadHeaderLength(stream);
        var values = new float[valuesPerTile];
        var done = 0;
        foreach (var (first, count, _) in Scan(stream, headerLength, valuesPerTile, keepPosition: true))
        {
            if (first != done)
            {
                yield break;
            }
            for (var i = 0; i < count; i++)
            {
                stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                yield return (first + i, values);
            }
            stream.Position += 4; // CRC, already checked by Scan
            done += count;
        }
    }

    private static byte[] Header(string fingerprint, int valuesPerTile, int planTiles)
    {
        var fp = Encoding.UTF8.GetBytes(fingerprint);
        var header = new byte[Magic.Length + 12 + fp.Length];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), valuesPerTile);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), planTiles);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), fp.Length);
        fp.CopyTo(header, 20);
        return header;
    }

    private static int ReadHeaderLength(Stream stream)
    {
        Span<byte> fixedPart = stackalloc byte[20];
        stream.Position = 0;
        stream.ReadExactly(fixedPart);
        if (!fixedPart[..8].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a Histoscale results file");
        }
        return 20 + BinaryPrimitives.ReadInt32LittleEndian(fixedPart[16..]);
    }

    private static bool StartsWith(Stream stream, byte[] header)
    {
        var existing = new byte[header.Length];
        stream.Position = 0;
        stream.ReadExactly(existing);
        return existing.AsSpan().SequenceEqual(header);
    }

    /// <summary>
    /// Yields (first, count, end offset) of each record whose CRC checks, stopping at the first bad or short one.
    /// Leaves the stream after the record header when <paramref name="keepPosition"/>, else at the record's end.
    /// </summary>
    private static IEnumerable<(int First, int Count, long End)> Scan(Stream stream, long start, int valuesPerTile, bool keepPosition = false)
    {
        var position = start;
        var head = new byte[12];
        byte[] body = [];
        while (true)
        {
            stream.Position = position;
            if (stream.Length - position < 16 || stream.ReadAtLeast(head, 12, throwOnEndOfStream: false) < 12)
            {
                yield break;
            }
            if (BinaryPrimitives.ReadUInt32LittleEndian(head) != RecordMagic)
            {
                yield break;
            }
            var first = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(4));
            var count = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(8));
            var payload = (long)count * valuesPerTile * 4;
            if (count <= 0 || first < 0 || payload > int.MaxValue - 16 || stream.Length - position < 12 + payload + 4)
            {
                yield break;
            }
            if (body.Length < payload + 4)
            {
                body = new byte[payload + 4];
            }
            stream.ReadExactly(body, 0, (int)payload + 4);
            var crc = Crc32.Append(Crc32.Compute(head.AsSpan(4, 8)), body.AsSpan(0, (int)payload));
            if (crc != BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan((int)payload)))
            {
                yield break;
            }
            var end = position + 12 + payload + 4;
            if (keepPosition)
            {
                stream.Position = position + 12;
            }
            yield return (first, count, end);
            position = end;
        }
    }
}
