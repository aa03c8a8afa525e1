using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.Config;

public class DataTypesTests
{
    [Theory]
    [InlineData(TensorDataType.UInt8, "UINT8", "TYPE_UINT8", 1)]
    [InlineData(TensorDataType.Fp16, "FP16", "TYPE_FP16", 2)]
    [InlineData(TensorDataType.Fp32, "FP32", "TYPE_FP32", 4)]
    [InlineData(TensorDataType.Int64, "INT64", "TYPE_INT64", 8)]
    [InlineData(TensorDataType.Bytes, "BYTES", "TYPE_STRING", 0)]
    public void NamesAndSizes(TensorDataType type, string kserve, string triton, int size)
    {
        Assert.Equal(kserve, type.ToKServeName());
        Assert.Equal(triton, type.ToTritonName());
        Assert.Equal(size, type.ElementSize());
        Assert.True(DataTypes.TryParseKServeName(kserve, out var k) && k == type);
        Assert.True(DataTypes.TryParseTritonName(triton, out var t) && t == type);
    }

    [Fact]
    public void UnknownNamesAreRejected()
    {
        Assert.False(DataTypes.TryParseKServeName("FLOAT32", out _));
        Assert.False(DataTypes.TryParseTritonName("TYPE_BYTES", out _));
        Assert.False(DataTypes.TryParseTritonName("FP32", out _));
    }

    [Fact]
    public void PooledTensorSlicesShareMemory()
    {
        using var t = Tensor.FromValues<float>(TensorDataType.Fp32, [1, 2, 3, 4, 5, 6], 3, 2);
        using var s = t.SliceBatch(1, 2);
        Assert.Equal([2L, 2], s.Shape.ToArray());
        Assert.Equal([3f, 4, 5, 6], s.ToArray<float>());
        s.AsSpan<float>()[0] = 30;
        Assert.Equal(30, t.AsSpan<float>()[2]);
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<byte>());
    }
}
