using System.Runtime.InteropServices;
using System.Text;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes a float32 matrix as a NumPy .npy file (format 1.0): the embeddings table. Self-describing and compact
/// (a 128-byte header, then rows × columns little-endian float32, C order); <c>numpy.load</c> reads it directly,
/// and any language can: skip the header (its length is the uint16 at byte 8, plus 10) and read the floats.
/// </summary>
internal sealed class NpyWriter
{
    private readonly Stream _stream;
    private readonly int _columns;
    private long _rows;

    public NpyWriter(Stream stream, long rows, int columns)
    {
        _stream = stream;
        _columns = columns;
        Rows = rows;
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";
        var total = 10 + dict.Length + 1;
        var padded = (total + 63) / 64 * 64;
        var header = dict + new string(' ', padded - total) + "\n";
        Span<byte> prefix = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8)];
        stream.Write(prefix);
        stream.Write(Encoding.ASCII.GetBytes(header));
    }

    public long Rows { get; }

    public void WriteRow(ReadOnlySpan<float> values)
    {
        if (values.Length != _columns)
        {
            throw new ArgumentException($"row of {values.Length} values, table has {_columns} columns", nameof(values));
        }
        if (_rows == Rows)
        {
            throw new InvalidOperationException("more rows than the header declares");
        }
        _stream.Write(MemoryMarshal.AsBytes(values));
        _rows++;
    }
}
