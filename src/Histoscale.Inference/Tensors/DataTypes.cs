namespace Histoscale.Inference.Tensors;

/// <summary>
/// Name and size tables for <see cref="TensorDataType"/>: KServe v2 names ("FP32") for the wire and metadata,
/// Triton config names ("TYPE_FP32") for config.pbtxt.
/// </summary>
public static class DataTypes
{
    /// <summary>Bytes per element; 0 for <see cref="TensorDataType.Bytes"/>, whose elements have no fixed size.</summary>
    public static int ElementSize(this TensorDataType type) => type switch
    {
        TensorDataType.Bool or TensorDataType.UInt8 or TensorDataType.Int8 => 1,
        TensorDataType.UInt16 or TensorDataType.Int16 or TensorDataType.Fp16 or TensorDataType.Bf16 => 2,
        TensorDataType.UInt32 or TensorDataType.Int32 or TensorDataType.Fp32 => 4,
        TensorDataType.UInt64 or TensorDataType.Int64 or TensorDataType.Fp64 => 8,
        TensorDataType.Bytes => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown tensor data type"),
    };

    /// <summary>The KServe v2 datatype name, e.g. "FP32".</summary>
    public static string ToKServeName(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => "BOOL",
        TensorDataType.UInt8 => "UINT8",
        TensorDataType.UInt16 => "UINT16",
        TensorDataType.UInt32 => "UINT32",
        TensorDataType.UInt64 => "UINT64",
        TensorDataType.Int8 => "INT8",
        TensorDataType.Int16 => "INT16",
        TensorDataType.Int32 => "INT32",
        TensorDataType.Int64 => "INT64",
        TensorDataType.Fp16 => "FP16",
        TensorDataType.Fp32 => "FP32",
        TensorDataType.Fp64 => "FP64",
        TensorDataType.Bf16 => "BF16",
        TensorDataType.Bytes => "BYTES",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown tensor data type"),
    };

    /// <summary>Parses a KServe v2 datatype name ("FP32"); case-sensitive, as the protocol is.</summary>
    public static bool TryParseKServeName(string? name, out TensorDataType type)
    {
        foreach (var candidate in All)
        {
            if (candidate.ToKServeName() == name)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>The Triton config.pbtxt enum name, e.g. "TYPE_FP32" (Triton spells strings TYPE_STRING).</summary>
    public static string ToTritonName(this TensorDataType type) =>
        type == TensorDataType.Bytes ? "TYPE_STRING" : "TYPE_" + type.ToKServeName();

    /// <summary>Parses a Triton config.pbtxt data_type ("TYPE_FP32").</summary>
    public static bool TryParseTritonName(string? name, out TensorDataType type)
    {
        if (name == "TYPE_STRING")
        {
            type = TensorDataType.Bytes;
            return true;
        }
        if (name is not null && name.StartsWith("TYPE_", StringComparison.Ordinal) && name != "TYPE_BYTES")
        {
            return TryParseKServeName(name["TYPE_".Length..], out type);
        }
        type = default;
        return false;
    }

    private static readonly TensorDataType[] All = Enum.GetValues<TensorDataType>();
}
