using System.Buffers.Binary;
using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.KServe.Protocol;

/// <summary>
/// Reads the typed <c>contents</c> form of a gRPC tensor (the alternative to raw bytes): small integer types travel
/// widened in int_contents/uint_contents; FP16 and BF16 have no typed field and must use raw contents (as in Triton).
/// </summary>
internal static class TypedContents
{
    public static Tensor Read(InferTensorContents? contents, TensorDataType type, long[] shape, string name)
    {
        contents ??= new InferTensorContents();
        var byteSize = TensorShapes.ByteSize(type, shape, name);
        var count = byteSize / type.ElementSize();
        var tensor = Tensor.Rent(type, shape);
        try
        {
            var e = tensor.Bytes;
            int have = type switch
            {
                TensorDataType.Bool => contents.BoolContents.Count,
                TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => contents.IntContents.Count,
                TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => contents.UintContents.Count,
                TensorDataType.Int64 => contents.Int64Contents.Count,
                TensorDataType.UInt64 => contents.Uint64Contents.Count,
                TensorDataType.Fp32 => contents.Fp32Contents.Count,
                TensorDataType.Fp64 => contents.Fp64Contents.Count,
                _ => throw new InferenceRequestException($"tensor '{name}': {type.ToKServeName()} data must be sent in raw contents"),
            };
            if (have != count)
            {
                throw new InferenceRequestException(
                    $"unexpected number of elements for tensor '{name}': shape [{string.Join(',', shape)}] needs {count}, contents has {have}");
            }
            for (var i = 0; i < count; i++)
            {
                switch (type)
                {
                    case TensorDataType.Bool: e[i] = contents.BoolContents[i] ? (byte)1 : (byte)0; break;
                    case TensorDataType.Int8: e[i] = (byte)checked((sbyte)contents.IntContents[i]); break;
                    case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(e[(i * 2)..], checked((short)contents.IntContents[i])); break;
                    case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(e[(i * 4)..], contents.IntContents[i]); break;
                    case TensorDataType.UInt8: e[i] = checked((byte)contents.UintContents[i]); break;
                    case TensorDataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(e[(i * 2)..], checked((ushort)contents.UintContents[i])); break;
                    case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(e[(i * 4)..], contents.UintContents[i]); break;
                    case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(e[(i * 8)..], contents.Int64Contents[i]); break;
                    case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(e[(i * 8)..], contents.Uint64Contents[i]); break;
                    case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(e[(i * 4)..], contents.Fp32Contents[i]); break;
                    case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(e[(i * 8)..], contents.Fp64Contents[i]); break;
                }
            }
            return tensor;
        }
        catch (OverflowException)
        {
            tensor.Dispose();
            throw new InferenceRequestException($"tensor '{name}': a value in contents is out of range for {type.ToKServeName()}");
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }
}
