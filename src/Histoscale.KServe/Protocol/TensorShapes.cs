using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.KServe.Protocol;

/// <summary>Checks of a wire tensor's declared datatype, shape and byte size, with Triton-like messages.</summary>
internal static class TensorShapes
{
    /// <summary>Parses a KServe datatype name; unknown or non-dense names are request errors.</summary>
    public static TensorDataType ParseDataType(string? datatype, string tensorName)
    {
        if (!DataTypes.TryParseKServeName(datatype, out var type))
        {
            throw new InferenceRequestException($"invalid datatype '{datatype}' for tensor '{tensorName}'");
        }
        if (type == TensorDataType.Bytes)
        {
            throw new InferenceRequestException($"tensor '{tensorName}': BYTES tensors are not supported by this server");
        }
        return type;
    }

    /// <summary>The byte size a tensor of this datatype and shape needs; negative or absurd shapes are request errors.</summary>
    public static int ByteSize(TensorDataType type, ReadOnlySpan<long> shape, string tensorName)
    {
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new InferenceRequestException($"tensor '{tensorName}': shape [{string.Join(',', shape.ToArray())}] has a negative dimension");
            }
        }
        try
        {
            return Tensor.ByteLengthOf(type, shape);
        }
        catch (OverflowException)
        {
            throw new InferenceRequestException($"tensor '{tensorName}': shape [{string.Join(',', shape.ToArray())}] is too large");
        }
    }
}
