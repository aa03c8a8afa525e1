using System.Globalization;

namespace Histoscale.Pipeline.Outputs;

/// <summary>Names and colours of the mapped channels: the model's, else a fixed palette (Tableau 10, then repeating).</summary>
internal sealed class ClassPalette
{
    private static readonly string[] Default =
    [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ];

    public ClassPalette(IReadOnlyList<string> names, IReadOnlyList<string> colours)
    {
        Names = names;
        Colors = [.. names.Select((_, i) => Parse(i < colours.Count ? colours[i] : Default[i % Default.Length]))];
    }

    public IReadOnlyList<string> Names { get; }

    public IReadOnlyList<(byte R, byte G, byte B)> Colors { get; }

    /// <summary>Channels that are not painted or outlined: a class called "background".</summary>
    public bool IsBackground(int channel) => Names[channel].Equals("background", StringComparison.OrdinalIgnoreCase);

    public static string Hex((byte R, byte G, byte B) c) => $"#{c.R:x2}{c.G:x2}{c.B:x2}";

    private static (byte, byte, byte) Parse(string hex) => (
        byte.Parse(hex.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(hex.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(hex.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
}
