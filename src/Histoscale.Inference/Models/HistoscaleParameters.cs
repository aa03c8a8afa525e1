using System.Globalization;
using Histoscale.Inference.Config;

namespace Histoscale.Inference.Models;

/// <summary>Order of the colour channels the model expects.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue (the slide's own order).</summary>
    Rgb,
    /// <summary>Blue, green, red (OpenCV-trained models).</summary>
    Bgr,
}

/// <summary>What a model's output means to the pipeline.</summary>
public enum OutputKind
{
    /// <summary>[N, C] scores per tile, one per class.</summary>
    ClassScores,

    /// <summary>[N, D] feature vector per tile.</summary>
    Embedding,

    /// <summary>[N, C, h, w] map per tile, one output pixel per <c>stride</c> input pixels.</summary>
    Dense,
}

/// <summary>
/// Histoscale's own model block — what Triton's config does not describe — stored in config.pbtxt
/// <c>parameters</c> under keys prefixed <c>histoscale.</c> (Triton ignores unknown parameters, so the same
/// repository still serves on a real Triton). Mean/std are on the 0–255 scale: model input = (pixel − mean) / std.
/// </summary>
public sealed record HistoscaleParameters
{
    /// <summary>Prefix of every Histoscale key in config.pbtxt <c>parameters</c>.</summary>
    public const string Prefix = "histoscale.";
    /// <summary>Key of <see cref="TileSize"/>.</summary>
    public const string TileSizeKey = "histoscale.tile_size";
    /// <summary>Key of <see cref="Mpp"/>.</summary>
    public const string MppKey = "histoscale.mpp";
    /// <summary>Key of <see cref="ChannelOrder"/> ("RGB" or "BGR").</summary>
    public const string ChannelOrderKey = "histoscale.channel_order";
    /// <summary>Key of <see cref="Layout"/> ("NCHW" or "NHWC").</summary>
    public const string LayoutKey = "histoscale.layout";
    /// <summary>Key of <see cref="Mean"/> ("R,G,B").</summary>
    public const string MeanKey = "histoscale.mean";
    /// <summary>Key of <see cref="Std"/> ("R,G,B").</summary>
    public const string StdKey = "histoscale.std";
    /// <summary>Key of <see cref="OutputKind"/> ("class_scores", "embedding" or "dense").</summary>
    public const string OutputKindKey = "histoscale.output_kind";
    /// <summary>Key of <see cref="DenseStride"/>.</summary>
    public const string DenseStrideKey = "histoscale.dense_stride";
    /// <summary>Key of <see cref="ClassNames"/> (comma-separated).</summary>
    public const string ClassNamesKey = "histoscale.class_names";
    /// <summary>Key of <see cref="ClassColors"/> (comma-separated).</summary>
    public const string ClassColorsKey = "histoscale.class_colors";
    /// <summary>Key of <see cref="InputName"/>.</summary>
    public const string InputKey = "histoscale.input";
    /// <summary>Key of <see cref="OutputName"/>.</summary>
    public const string OutputKey = "histoscale.output";

    /// <summary>Tile edge in pixels; null = take it from the model's input shape.</summary>
    public int? TileSize { get; init; }

    /// <summary>Target resolution in µm per pixel; null = the pipeline's default.</summary>
    public double? Mpp { get; init; }

    /// <summary>Channel order the model expects; RGB by default.</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    /// <summary>NCHW or NHWC; null = from the config's format or the input shape.</summary>
    public TensorFormat? Layout { get; init; }

    /// <summary>Per-channel mean (R, G, B order) on the 0–255 scale, subtracted before dividing by <see cref="Std"/>.</summary>
    public float[] Mean { get; init; } = [0, 0, 0];

    /// <summary>Per-channel standard deviation (R, G, B order) on the 0–255 scale; every value is positive.</summary>
    public float[] Std { get; init; } = [1, 1, 1];

    /// <summary>How the pipeline reads the model's output; class scores by default.</summary>
    public OutputKind OutputKind { get; init; } = OutputKind.ClassScores;

    /// <summary>Input pixels per output pixel for <see cref="OutputKind.Dense"/>; null = derive from shapes.</summary>
    public int? DenseStride { get; init; }

    /// <summary>One name per output class, in output-channel order (may be empty).</summary>
    public string[] ClassNames { get; init; } = [];

    /// <summary>One "#rrggbb" per class (may be empty: the pipeline then picks a palette).</summary>
    public string[] ClassColors { get; init; } = [];

    /// <summary>Which input receives the image when the model has several.</summary>
    public string? InputName { get; init; }

    /// <summary>Which output the pipeline reads when the model has several.</summary>
    public string? OutputName { get; init; }

    /// <summary>Reads the histoscale.* keys; a malformed value throws naming the key.</summary>
    public static HistoscaleParameters FromConfigParameters(IReadOnlyDictionary<string, string> parameters, string? model = null, string? file = null)
    {
        var p = new HistoscaleParameters();
        foreach (var (key, value) in parameters)
        {
            if (!key.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            ModelConfigException Bad(string expected) =>
                new($"invalid value '{value}' ({expected})", model: model, file: file, field: $"parameters[{key}]");
            p = key switch
            {
                TileSizeKey => p with { TileSize = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t > 0 ? t : throw Bad("a positive integer") },
                MppKey => p with { Mpp = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0 ? m : throw Bad("a positive number of µm per pixel") },
                ChannelOrderKey => p with { ChannelOrder = value.ToUpperInvariant() switch { "RGB" => ChannelOrder.Rgb, "BGR" => ChannelOrder.Bgr, _ => throw Bad("RGB or BGR") } },
                LayoutKey => p with { Layout = value.ToUpperInvariant() switch { "NCHW" => TensorFormat.Nchw, "NHWC" => TensorFormat.Nhwc, _ => throw Bad("NCHW or NHWC") } },
                MeanKey => p with { Mean = ParseTriple(value) ?? throw Bad("three comma-separated numbers R,G,B") },
                StdKey => p with { Std = ParseTriple(value) is { } s && s.All(v => v > 0) ? s : throw Bad("three comma-separated positive numbers R,G,B") },
                OutputKindKey => p with { OutputKind = ParseOutputKind(value) ?? throw Bad("class_scores, embedding or dense") },
                DenseStrideKey => p with { DenseStride = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : throw Bad("a positive integer") },
                ClassNamesKey => p with { ClassNames = SplitList(value) },
                ClassColorsKey => p with { ClassColors = SplitList(value) is var colors && colors.All(IsColor) ? colors : throw Bad("comma-separated #rrggbb colours") },
                InputKey => p with { InputName = value },
                OutputKey => p with { OutputName = value },
                _ => throw new ModelConfigException("unknown histoscale parameter", model: model, file: file, field: $"parameters[{key}]"),
            };
        }
        return p;
    }

    /// <summary>Writes the block into config parameters (only values that differ from the defaults).</summary>
    public void WriteTo(IDictionary<string, string> parameters)
    {
        var inv = CultureInfo.InvariantCulture;
        if (TileSize is { } t)
        {
            parameters[TileSizeKey] = t.ToString(inv);
        }
        if (Mpp is { } m)
        {
            parameters[MppKey] = m.ToString("R", inv);
        }
        if (ChannelOrder != ChannelOrder.Rgb)
        {
            parameters[ChannelOrderKey] = "BGR";
        }
        if (Layout is { } l)
        {
            parameters[LayoutKey] = l == TensorFormat.Nhwc ? "NHWC" : "NCHW";
        }
        parameters[MeanKey] = string.Join(',', Mean.Select(v => v.ToString("R", inv)));
        parameters[StdKey] = string.Join(',', Std.Select(v => v.ToString("R", inv)));
        parameters[OutputKindKey] = OutputKindName(OutputKind);
        if (DenseStride is { } d)
        {
            parameters[DenseStrideKey] = d.ToString(inv);
        }
        if (ClassNames.Length > 0)
        {
            parameters[ClassNamesKey] = string.Join(',', ClassNames);
        }
        if (ClassColors.Length > 0)
        {
            parameters[ClassColorsKey] = string.Join(',', ClassColors);
        }
        if (InputName is { } i)
        {
            parameters[InputKey] = i;
        }
        if (OutputName is { } o)
        {
            parameters[OutputKey] = o;
        }
    }

    /// <summary>The parameter value for <paramref name="kind"/>: "class_scores", "embedding" or "dense".</summary>
    public static string OutputKindName(OutputKind kind) => kind switch
    {
        OutputKind.Embedding => "embedding",
        OutputKind.Dense => "dense",
        _ => "class_scores",
    };

    /// <summary>Parses an output kind name (case-insensitive; "classes"/"scores" and "embeddings" also accepted); null when unknown.</summary>
    public static OutputKind? ParseOutputKind(string value) => value.ToLowerInvariant() switch
    {
        "class_scores" or "classes" or "scores" => OutputKind.ClassScores,
        "embedding" or "embeddings" => OutputKind.Embedding,
        "dense" => OutputKind.Dense,
        _ => null,
    };

    /// <summary>Parses "R,G,B" (also used for the CLI's --mean/--std); null when malformed.</summary>
    public static float[]? ParseTriple(string value)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
        {
            return null;
        }
        var result = new float[3];
        for (var i = 0; i < 3; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i]) || !float.IsFinite(result[i]))
            {
                return null;
            }
        }
        return result;
    }

    /// <summary>Splits a comma-separated list, trimming entries and dropping empty ones.</summary>
    public static string[] SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static bool IsColor(string c) =>
        c.Length == 7 && c[0] == '#' && c.AsSpan(1).ContainsAnyExcept("0123456789abcdefABCDEF") == false;
}
