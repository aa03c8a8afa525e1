using System.Runtime.InteropServices;
using Google.Protobuf;
using Histoscale.Quantization.Proto;
using Histoscale.Inference.Tensors;

namespace Histoscale.Quantization;

/// <summary>Reads values out of and builds ONNX <see cref="TensorProto"/> initializers (little-endian raw_data).</summary>
internal static class OnnxTensorData
{
    public static readonly int Float = OnnxTypes.ToOnnx(TensorDataType.Fp32);
    public static readonly int UInt8 = OnnxTypes.ToOnnx(TensorDataType.UInt8);
    public static readonly int Int8 = OnnxTypes.ToOnnx(TensorDataType.Int8);
    public static readonly int Int32 = OnnxTypes.ToOnnx(TensorDataType.Int32);

    public static long[] Dims(TensorProto tensor) => [.. tensor.Dims];

    /// <summary>The values of a float initializer, whichever of raw_data / float_data holds them.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float)
        {
            throw new InvalidOperationException($"initializer '{tensor.Name}' is not float32 (ONNX type {tensor.DataType})");
        }
        if (tensor.HasRawData)
        {
            return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        }
        return [.. tensor.FloatData];
    }

    public static TensorProto Create<T>(string name, int dataType, ReadOnlySpan<T> values, params long[] dims) where T : unmanaged
    {
        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static TensorProto Scalar(string name, float value) => Create<float>(name, Float, [value]);

    public static TensorProto Scalar(string name, byte value) => Create<byte>(name, UInt8, [value]);
}
