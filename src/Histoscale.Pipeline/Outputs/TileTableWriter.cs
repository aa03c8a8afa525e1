using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Histoscale.Inference.Models;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// The tile table (<c>NAME.tiles.csv</c>): <c>x,y,width,height,tissue,</c> then one column per output value, then
/// <c>status</c>: <c>ok</c>, <c>unreadable</c> for a tile whose data could not be read, or <c>excluded:blur|pen|fold</c> for one
/// quality control left out (<c>infer --qc</c>; value columns empty for both).
/// x, y, width, height are the tile's footprint on the slide in level-0 pixels; tissue is its tissue fraction
/// (1 with tissue detection off). Value columns are the class names when the model has them, else the output's name
/// for a single value, else <c>OUTPUT_k</c>. Dense outputs give one column per channel: its mean over the tile.
/// Numbers use the invariant culture, floats round-trip (shortest form that reads back to the same float).
/// Rows are formatted as UTF-8 straight into byte buffers, blocks of rows split across the cores: a 1000-class
/// model makes millions of numbers per slide, and formatting them on one thread was most of a slide's output time.
/// </summary>
internal sealed class TileTableWriter
{
    /// <summary>Bytes a number may take: a long, or a float in its round-trip form ("-1.2345679E-38"), plus a comma.</summary>
    private const int MaxNumberBytes = 24;

    /// <summary>The longest status: ",excluded:blur\n".</summary>
    private const int StatusBytes = 16;

    private readonly Stream _stream;
    private readonly TilePlan _plan;
    private readonly ModelIo _io;

    private readonly byte[]? _exclusions;

    public TileTableWriter(Stream stream, TilePlan plan, ModelIo io, byte[]? exclusions = null)
    {
        _exclusions = exclusions;
        _stream = stream;
        _plan = plan;
        _io = io;
        var header = new StringBuilder("x,y,width,height,tissue");
        foreach (var column in Columns(io))
        {
            header.Append(',').Append(Quote(column));
        }
        header.Append(",status\n");
        stream.Write(Encoding.UTF8.GetBytes(header.ToString()));
    }

    /// <summary>Value column names for a model's output.</summary>
    public static IReadOnlyList<string> Columns(ModelIo io)
    {
        var names = io.Model.Parameters.ClassNames;
        if (names.Length == io.Channels && io.Kind != OutputKind.Embedding)
        {
            return names;
        }
        var output = io.Model.PrimaryOutput.Name;
        return io.Channels == 1 ? [output] : [.. Enumerable.Range(0, io.Channels).Select(k => $"{output}_{k}")];
    }

    /// <summary>Writes the rows of the plan tiles <paramref name="tiles"/>, in order; <paramref name="values"/> holds their outputs back to back.</summary>
    public void WriteRows(ReadOnlyMemory<int> tiles, ReadOnlyMemory<float> values)
    {
        var perTile = _io.ValuesPerTile;
        var count = tiles.Length;
        if (count == 0)
        {
            return;
        }
        if (values.Length < count * perTile)
        {
            throw new ArgumentException("fewer values than tiles need", nameof(values));
        }
        var columns = _io.Kind == OutputKind.Dense ? _io.Channels : perTile;
        var rowBound = ((5 + columns) * MaxNumberBytes) + StatusBytes;
        // One chunk per core when there is enough to format; each formats into its own buffer, written in order.
        var chunks = (int)Math.Clamp((long)count * columns / 16384, 1, Math.Min(Environment.ProcessorCount, count));
        var per = (count + chunks - 1) / chunks;
        var buffers = new byte[chunks][];
        var lengths = new int[chunks];
        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            {
                var first = c * per;
                var n = Math.Min(per, count - first);
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, n * rowBound));
                buffers[c] = buffer;
                var ids = tiles.Span;
                var all = values.Span;
                var at = 0;
                for (var i = 0; i < n; i++)
                {
                    var t = first + i;
                    at += FormatRow(_plan.Tiles[ids[t]], ids[t], all.Slice(t * perTile, perTile), buffer.AsSpan(at));
                }
                lengths[c] = at;
            });
            for (var c = 0; c < chunks; c++)
            {
                _stream.Write(buffers[c], 0, lengths[c]);
            }
        }
        finally
        {
            foreach (var b in buffers)
            {
                if (b is not null)
                {
                    ArrayPool<byte>.Shared.Return(b);
                }
            }
        }
    }

    /// <summary>One row as UTF-8 into <paramref name="output"/> (at least the row bound); returns its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int FormatRow(PlannedTile tile, int index, ReadOnlySpan<float> values, Span<byte> output)
    {
        var f = _plan.FootprintOf(tile);
        var at = Number(f.X, output);
        output[at++] = (byte)',';
        at += Number(f.Y, output[at..]);
        output[at++] = (byte)',';
        at += Number(f.Width, output[at..]);
        output[at++] = (byte)',';
        at += Number(f.Height, output[at..]);
        output[at++] = (byte)',';
        at += Float(tile.Tissue, "0.####", output[at..]);
        if (Checkpoints.ResultsFile.IsUnreadable(values))
        {
            var columns = _io.Kind == OutputKind.Dense ? _io.Channels : values.Length;
            output.Slice(at, columns).Fill((byte)',');
            at += columns;
            ",unreadable\n"u8.CopyTo(output[at..]);
            return at + 12;
        }
        if (Checkpoints.ResultsFile.IsExcluded(values))
        {
            var columns = _io.Kind == OutputKind.Dense ? _io.Channels : values.Length;
            output.Slice(at, columns).Fill((byte)',');
            at += columns;
            var status = (Quality.QualityArtifact)(_exclusions?[index] ?? 0) switch
            {
                Quality.QualityArtifact.Blur => ",excluded:blur\n"u8,
                Quality.QualityArtifact.Pen => ",excluded:pen\n"u8,
                Quality.QualityArtifact.Fold => ",excluded:fold\n"u8,
                _ => ",excluded\n"u8,
            };
            status.CopyTo(output[at..]);
            return at + status.Length;
        }
        if (_io.Kind == OutputKind.Dense)
        {
            var plane = _io.DenseHeight * _io.DenseWidth;
            for (var c = 0; c < _io.Channels; c++)
            {
                double sum = 0;
                foreach (var v in values.Slice(c * plane, plane))
                {
                    sum += v;
                }
                output[at++] = (byte)',';
                at += Float((float)(sum / plane), "R", output[at..]);
            }
        }
        else
        {
            foreach (var v in values)
            {
                output[at++] = (byte)',';
                at += Float(v, "R", output[at..]);
            }
        }
        ",ok\n"u8.CopyTo(output[at..]);
        return at + 4;
    }

    private static int Number(long value, Span<byte> output)
    {
        return value.TryFormat(output, out var n, default, CultureInfo.InvariantCulture) ? n : throw new InvalidOperationException("tile table row bound too small");
    }

    private static int Float(float value, string format, Span<byte> output)
    {
        return value.TryFormat(output, out var n, format, CultureInfo.InvariantCulture) ? n : throw new InvalidOperationException("tile table row bound too small");
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
