using Histoscale.Inference.Config;

namespace Histoscale.Inference.Models;

/// <summary>
/// Values given on the command line (<c>--tile-size --mpp --mean --std --classes</c> ...). They complete a bare
/// .onnx file's description and take precedence over a repository config's histoscale.* parameters.
/// </summary>
public sealed record ModelOverrides
{
    /// <summary>Tile edge in pixels (<c>--tile-size</c>).</summary>
    public int? TileSize { get; init; }

    /// <summary>Resolution the model was trained at, in µm per pixel (<c>--mpp</c>).</summary>
    public double? Mpp { get; init; }

    /// <summary>Per-channel mean R,G,B on the 0–255 scale (<c>--mean</c>).</summary>
    public float[]? Mean { get; init; }

    /// <summary>Per-channel standard deviation R,G,B on the 0–255 scale (<c>--std</c>).</summary>
    public float[]? Std { get; init; }

    /// <summary>Output class names in channel order (<c>--classes</c>).</summary>
    public string[]? ClassNames { get; init; }

    /// <summary>One "#rrggbb" colour per class.</summary>
    public string[]? ClassColors { get; init; }

    /// <summary>Channel order the model expects.</summary>
    public ChannelOrder? ChannelOrder { get; init; }

    /// <summary>Image input layout, NCHW or NHWC.</summary>
    public TensorFormat? Layout { get; init; }

    /// <summary>How the pipeline reads the primary output.</summary>
    public OutputKind? OutputKind { get; init; }

    /// <summary>Input pixels per output pixel for dense outputs.</summary>
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
