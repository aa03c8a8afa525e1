using System.CommandLine;
using Histoscale.Inference.Models;

namespace Histoscale.Cli.Commands;

/// <summary>
/// The flags that describe what a model expects of slide tiles (<c>--tile-size</c>, <c>--mpp</c>, <c>--mean</c>,
/// <c>--std</c>), defined once for every command that runs a model over slides (infer, quantize).
/// </summary>
internal sealed class TileModelOptions(string tileSizeDescription)
{
    public Option<int?> TileSize { get; } = new("--tile-size") { Description = tileSizeDescription };

    public Option<double?> Mpp { get; } = new("--mpp") { Description = "Target µm/px (default: the model's, else 0.5)" };

    public Option<string?> Mean { get; } = new("--mean") { Description = "Normalisation mean R,G,B on the 0–255 scale" };

    public Option<string?> Std { get; } = new("--std") { Description = "Normalisation std R,G,B on the 0–255 scale" };

    /// <summary>The overrides these flags give; the caller adds its own (class names, batch size...) with <c>with</c>.</summary>
    public ModelOverrides Read(ParseResult r) => new()
    {
        TileSize = r.GetValue(TileSize),
        Mpp = r.GetValue(Mpp),
        Mean = Triple(r.GetValue(Mean), "--mean"),
        Std = Triple(r.GetValue(Std), "--std"),
    };

    private static float[]? Triple(string? value, string flag) =>
        value is null ? null : HistoscaleParameters.ParseTriple(value) ?? throw new InputException($"{flag} '{value}': expected three comma-separated numbers R,G,B");
}
