using System.Buffers.Binary;
using System.Text.Json;
using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.KServe.Protocol;

/// <summary>
/// The KServe v2 JSON tensor encoding: a tensor's elements as a JSON array in row-major order (flat, or nested by
/// dimension — both are accepted on input; output is flat, as Triton writes it). Used by the server for JSON
/// requests/responses and by the HTTP client when a server answers without the binary extension.
/// </summary>
internal static class JsonTensorData
{
    /// <summary>Parses <paramref name="data"/> into a new pooled tensor; element count and value kinds must match.</summary>
    public static Tensor Read(JsonElement data, TensorDataType type, long[] shape, string name)
    {
        if (type == TensorDataType.Bytes)
        {
            throw new InferenceRequestException($"input '{name}': BYTES tensors are not supported");
        }
        if (data.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceRequestException($"input '{name}': 'data' must be an array");
        }
        long expected;
        try
        {
            expected = Tensor.ElementCountOf(shape);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            throw new InferenceRequestException($"input '{name}': invalid shape [{string.Join(',', shape)}]");
        }
        var count = Count(data);
        if (count != expected)
        {
            throw new InferenceRequestException(
                $"unexpected number of elements for input '{name}': shape [{string.Join(',', shape)}] needs {expected}, 'data' has {count}");
        }
        var tensor = Tensor.Rent(type, shape);
        try
        {
            var bytes = tensor.Bytes;
            var index = 0;
            Fill(data, type, bytes, ref index, name);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Writes the tensor's elements as one flat JSON array.</summary>
    public static void Write(Utf8JsonWriter writer, Tensor tensor)
    {
        var bytes = tensor.Bytes;
        var size = tensor.DataType.ElementSize();
        writer.WriteStartArray();
        for (var offset = 0; offset < bytes.Length; offset += size)
        {
            var e = bytes.Slice(offset, size);
            switch (tensor.DataType)
            {
                case TensorDataType.Bool: writer.WriteBooleanValue(e[0] != 0); break;
                case TensorDataType.UInt8: writer.WriteNumberValue(e[0]); break;
                case TensorDataType.Int8: writer.WriteNumberValue((sbyte)e[0]); break;
                case TensorDataType.UInt16: writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(e)); break;
                case TensorDataType.Int16: writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(e)); break;
                case TensorDataType.UInt32: writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(e)); break;
                case TensorDataType.Int32: writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(e)); break;
                case TensorDataType.UInt64: writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(e)); break;
                case TensorDataType.Int64: writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(e)); break;
                case TensorDataType.Fp16: WriteFloat(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(e)); break;
                case TensorDataType.Bf16: WriteFloat(writer, BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(e) << 16)); break;
                case TensorDataType.Fp32: WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(e)); break;
                case TensorDataType.Fp64: WriteDouble(writer, BinaryPrimitives.ReadDoubleLittleEndian(e)); break;
                default: throw new InferenceRequestException($"cannot write {tensor.DataType.ToKServeName()} as JSON");
            }
        }
        writer.WriteEndArray();
    }

    private static long Count(JsonElement array)
    {
        long n = 0;
        foreach (var item in array.EnumerateArray())
        {
            n += item.ValueKind == JsonValueKind.Array ? Count(item) : 1;
        }
        return n;
    }

    private static void Fill(JsonElement array, TensorDataType type, Span<byte> bytes, ref int index, string name)
    {
        var size = type.ElementSize();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Fill(item, type, bytes, ref index, name);
                continue;
            }
            var e = bytes.Slice(index * size, size);
            index++;
            if (!TryWrite(item, type, e))
            {
                throw new InferenceRequestException($"input '{name}': value {item.GetRawText()} is not a valid {type.ToKServeName()}");
            }
        }
    }

    private static bool TryWrite(JsonElement v, TensorDataType type, Span<byte> e)
    {
        if (type == TensorDataType.Bool)
        {
            if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return false;
            }
            e[0] = v.GetBoolean() ? (byte)1 : (byte)0;
            return true;
        }
        if (v.ValueKind != JsonValueKind.Number)
        {
            return false;
        }
        switch (type)
        {
            case TensorDataType.UInt8 when v.TryGetByte(out var b): e[0] = b; return true;
            case TensorDataType.Int8 when v.TryGetSByte(out var sb): e[0] = (byte)sb; return true;
            case TensorDataType.UInt16 when v.TryGetUInt16(out var u16): BinaryPrimitives.WriteUInt16LittleEndian(e, u16); return true;
            case TensorDataType.Int16 when v.TryGetInt16(out var i16): BinaryPrimitives.WriteInt16LittleEndian(e, i16); return true;
            case TensorDataType.UInt32 when v.TryGetUInt32(out var u32): BinaryPrimitives.WriteUInt32LittleEndian(e, u32); return true;
            case TensorDataType.Int32 when v.TryGetInt32(out var i32): BinaryPrimitives.WriteInt32LittleEndian(e, i32); return true;
            case TensorDataType.UInt64 when v.TryGetUInt64(out var u64): BinaryPrimitives.WriteUInt64LittleEndian(e, u64); return true;
            case TensorDataType.Int64 when v.TryGetInt64(out var i64): BinaryPrimitives.WriteInt64LittleEndian(e, i64); return true;
            case TensorDataType.Fp16 when v.TryGetDouble(out var h): BinaryPrimitives.WriteHalfLittleEndian(e, (Half)h); return true;
            case TensorDataType.Bf16 when v.TryGetSingle(out var bf):
                // Round to nearest even on the upper 16 bits of the float.
                var bits = BitConverter.SingleToUInt32Bits(bf);
                BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16));
                return true;
            case TensorDataType.Fp32 when v.TryGetSingle(out var f): BinaryPrimitives.WriteSingleLittleEndian(e, f); return true;
            case TensorDataType.Fp64 when v.TryGetDouble(out var d): BinaryPrimitives.WriteDoubleLittleEndian(e, d); return true;
            default: return false;
        }
    }

    // JSON has no NaN/Infinity; like Triton's writer we emit the bare tokens rather than fail the whole response.
    private static void WriteFloat(Utf8JsonWriter writer, float f)
    {
        if (float.IsFinite(f))
        {
            writer.WriteNumberValue(f);
        }
        else
        {
            writer.WriteRawValue(float.IsNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity", skipInputValidation: true);
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, double d)
    {
        if (double.IsFinite(d))
        {
            writer.WriteNumberValue(d);
        }
        else
        {
            writer.WriteRawValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity", skipInputValidation: true);
        }
    }
}
