namespace Histoscale.Inference.Tensors;

/// <summary>ONNX's TensorProto.DataType numbers (onnx.proto) for our datatypes, both ways.</summary>
public static class OnnxTypes
{
    /// <summary>The ONNX TensorProto.DataType number for <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> has no ONNX equivalent.</exception>
    public static int ToOnnx(TensorDataType type) => type switch
    {
        TensorDataType.Fp32 => 1,
        TensorDataType.UInt8 => 2,
        TensorDataType.Int8 => 3,
        TensorDataType.UInt16 => 4,
        TensorDataType.Int16 => 5,
        TensorDataType.Int32 => 6,
        TensorDataType.Int64 => 7,
        TensorDataType.Bytes => 8,
        TensorDataType.Bool => 9,
        TensorDataType.Fp16 => 10,
        TensorDataType.Fp64 => 11,
        TensorDataType.UInt32 => 12,
        TensorDataType.UInt64 => 13,
        TensorDataType.Bf16 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no ONNX equivalent"),
    };

    /// <summary>Our datatype for an ONNX element type, or null for one we do not support (complex, float8...).</summary>
    public static TensorDataType? FromOnnx(int onnxType) => onnxType switch
    {
        1 => TensorDataType.Fp32,
        2 => TensorDataType.UInt8,
        3 => TensorDataType.Int8,
        4 => TensorDataType.UInt16,
        5 => TensorDataType.Int16,
        6 => TensorDataType.Int32,
        7 => TensorDataType.Int64,
        8 => TensorDataType.Bytes,
        9 => TensorDataType.Bool,
        10 => TensorDataType.Fp16,
        11 => TensorDataType.Fp64,
        12 => TensorDataType.UInt32,
        13 => TensorDataType.UInt64,
        16 => TensorDataType.Bf16,
        _ => null,
    };
}
