using Histoscale.Inference.Config;

namespace Histoscale.Inference.Models;

/// <summary>
/// Values given on the command line (<c>--tile-size --mpp --mean --std --classes</c> ...). They complete a bare
/// .onnx file's description and take precedence over a repository config's histoscale.* parameters.
/// </summary>
public sealed record ModelOverrides
{
    public int? TileSize { get; init; }

    public double? Mpp { get; init; }

    public float[]? Mean { get; init; }

    public float[]? Std { get; init; }

    public string[]? ClassNames { get; init; }

    public string[]? ClassColors { get; init; }

    public ChannelOrder? ChannelOrder { get; init; }

    public TensorFormat? Layout { get; init; }

    public OutputKind? OutputKind { get; init; }

    public int? DenseStride { get; init; }

    /// <summary>max_batch_size for a bare .onnx with a dynamic batch axis (default 64); ignored for repository models.</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Model name for a bare .onnx (default: file name without extension).</summary>
    public string? Name { get; init; }

    /// <summary>The image input, when the model has several inputs.</summary>
    public string? InputName { get; init; }

    /// <summary>The output the pipeline reads, when the model has several outputs.</summary>
    public string? OutputName { get; init; }

    internal HistoscaleParameters ApplyTo(HistoscaleParameters p) => p with
    {
        TileSize = TileSize ?? p.TileSize,
        Mpp = Mpp ?? p.Mpp,
        Mean = Mean ?? p.Mean,
        Std = Std ?? p.Std,
        ClassNames = ClassNames ?? p.ClassNames,
        ClassColors = ClassColors ?? p.ClassColors,
        ChannelOrder = ChannelOrder ?? p.ChannelOrder,
        Layout = Layout ?? p.Layout,
        OutputKind = OutputKind ?? p.OutputKind,
        DenseStride = DenseStride ?? p.DenseStride,
        InputName = InputName ?? p.InputName,
        OutputName = OutputName ?? p.OutputName,
    };
}
