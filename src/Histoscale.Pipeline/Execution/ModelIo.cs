using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;

namespace Histoscale.Pipeline.Execution;

/// <summary>What the pipeline feeds a model and reads back: input shapes per batch and output values per tile.</summary>
internal sealed class ModelIo
{
    public ModelIo(ModelDescription model, int tileSize)
    {
        Model = model;
        TileSize = tileSize;
        if (model.Metadata.Inputs.Count != 1)
        {
            throw new PipelineConfigException(
                $"model '{model.Name}' has {model.Metadata.Inputs.Count} inputs ({string.Join(", ", model.Metadata.Inputs.Select(i => i.Name))}); the pipeline feeds exactly one image input");
        }
        var outShape = model.PrimaryOutput.Shape;
        var skip = model.Metadata.IsBatched ? 1 : 0;
        long values = 1;
        for (var d = skip; d < outShape.Length; d++)
        {
            if (outShape[d] < 0)
            {
                throw new PipelineConfigException(
                    $"model '{model.Name}': output '{model.PrimaryOutput.Name}' [{string.Join(',', outShape)}] has a variable dimension besides the batch; the pipeline needs a fixed number of values per tile");
            }
            values *= outShape[d];
        }
        if (!model.Metadata.IsBatched && outShape.Length > 0 && outShape[0] != 1)
        {
            throw new PipelineConfigException($"model '{model.Name}' takes no batch dimension and its output '{model.PrimaryOutput.Name}' does not hold one tile");
        }
        ValuesPerTile = checked((int)values);
        if (model.Parameters.OutputKind == OutputKind.Dense)
        {
            Channels = (int)outShape[skip];
            DenseHeight = (int)outShape[skip + 1];
            DenseWidth = (int)outShape[skip + 2];
        }
        else
        {
            Channels = ValuesPerTile;
        }
    }

    public ModelDescription Model { get; }

    public int TileSize { get; }

    public OutputKind Kind => Model.Parameters.OutputKind;

    /// <summary>Values the primary output holds per tile (C for scores/embeddings, C·h·w for dense maps).</summary>
    public int ValuesPerTile { get; }

    /// <summary>Classes, embedding dimensions or dense channels.</summary>
    public int Channels { get; }

    public int DenseHeight { get; } = 1;

    public int DenseWidth { get; } = 1;

    /// <summary>Largest batch the model takes (1 without a batch dimension).</summary>
    public int MaxBatch => Model.Metadata.IsBatched ? Model.MaxBatchSize : 1;

    /// <summary>Concrete input shape for <paramref name="count"/> tiles in the model's layout.</summary>
    public long[] InputShape(int count)
    {
        var t = TileSize;
        long[] item = Model.Layout == TensorFormat.Nhwc ? [t, t, 3] : [3, t, t];
        if (Model.Metadata.IsBatched)
        {
            return [count, .. item];
        }
        return Model.ImageInput.Shape.Length == 4 ? [1, .. item] : item;
    }

    /// <summary>Copies tile outputs as float32, tile-major, into <paramref name="target"/> (count · ValuesPerTile).</summary>
    public void ReadOutputs(TensorSet outputs, int count, Span<float> target)
    {
        var tensor = outputs[Model.PrimaryOutput.Name];
        var n = count * ValuesPerTile;
        if (tensor.ElementCount < n)
        {
            throw new InvalidOperationException($"model '{Model.Name}' returned {tensor.ElementCount} values for {count} tiles of {ValuesPerTile}");
        }
        switch (tensor.DataType)
        {
            case TensorDataType.Fp32:
                tensor.AsSpan<float>()[..n].CopyTo(target);
                break;
            case TensorDataType.Fp16:
                {
                    var src = tensor.AsSpan<Half>();
                    for (var i = 0; i < n; i++)
                    {
                        target[i] = (float)src[i];
                    }
                    break;
                }
            case TensorDataType.Fp64:
                {
                    var src = tensor.AsSpan<double>();
                    for (var i = 0; i < n; i++)
                    {
                        target[i] = (float)src[i];
                    }
                    break;
                }
            case TensorDataType.Int64:
                {
                    var src = tensor.AsSpan<long>();
                    for (var i = 0; i < n; i++)
                    {
                        target[i] = src[i];
                    }
                    break;
                }
            case TensorDataType.Int32:
                {
                    var src = tensor.AsSpan<int>();
                    for (var i = 0; i < n; i++)
                    {
                        target[i] = src[i];
                    }
                    break;
                }
            case TensorDataType.UInt8:
                {
                    var src = tensor.Bytes;
                    for (var i = 0; i < n; i++)
                    {
                        target[i] = src[i];
                    }
                    break;
                }
            default:
                throw new PipelineConfigException($"model '{Model.Name}': output '{Model.PrimaryOutput.Name}' is {tensor.DataType.ToKServeName()}, which the pipeline cannot read as scores");
        }
    }
}
