using System.Globalization;
using Histoscale.Inference.Models;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// The tile table (<c>NAME.tiles.csv</c>): <c>x,y,width,height,tissue,</c> then one column per output value.
/// x, y, width, height are the tile's footprint on the slide in level-0 pixels; tissue is its tissue fraction
/// (1 with tissue detection off). Value columns are the class names when the model has them, else the output's name
/// for a single value, else <c>OUTPUT_k</c>. Dense outputs give one column per channel: its mean over the tile.
/// Numbers use the invariant culture, floats round-trip (9 significant digits).
/// </summary>
public sealed class TileTableWriter
{
    private readonly TextWriter _writer;
    private readonly TilePlan _plan;
    private readonly ModelIo _io;
    private readonly char[] _buffer = new char[64];

    public TileTableWriter(TextWriter writer, TilePlan plan, ModelIo io)
    {
        _writer = writer;
        _plan = plan;
        _io = io;
        writer.Write("x,y,width,height,tissue");
        foreach (var column in Columns(io))
        {
            writer.Write(',');
            writer.Write(Quote(column));
        }
        writer.Write('\n');
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

    public void WriteRow(PlannedTile tile, ReadOnlySpan<float> values)
    {
        var f = _plan.FootprintOf(tile);
        Number(f.X);
        _writer.Write(',');
        Number(f.Y);
        _writer.Write(',');
        Number(f.Width);
        _writer.Write(',');
        Number(f.Height);
        _writer.Write(',');
        Float(tile.Tissue, "0.####");
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
                _writer.Write(',');
                Float((float)(sum / plane), "R");
            }
        }
        else
        {
            foreach (var v in values)
            {
                _writer.Write(',');
                Float(v, "R");
            }
        }
        _writer.Write('\n');
    }

    private void Number(long value)
    {
        value.TryFormat(_buffer, out var n, default, CultureInfo.InvariantCulture);
        _writer.Write(_buffer, 0, n);
    }

    private void Float(float value, string format)
    {
        value.TryFormat(_buffer, out var n, format, CultureInfo.InvariantCulture);
        _writer.Write(_buffer, 0, n);
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
