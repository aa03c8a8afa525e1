using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>
/// Widening conversions a remote backend applies when the caller's tensor type differs from the model's input type
/// (UINT8 pixels to an FP32/FP16 model, FP32 to an FP16 model and back). Anything lossy beyond FP16 rounding is refused.
/// </summary>
internal static class TensorConversion
{
    public static bool CanConvert(TensorDataType from, TensorDataType to) =>
        from == to || (from, to) is (TensorDataType.UInt8, TensorDataType.Fp32) or (TensorDataType.UInt8, TensorDataType.Fp16)
            or (TensorDataType.Fp32, TensorDataType.Fp16) or (TensorDataType.Fp16, TensorDataType.Fp32);

    /// <summary>A new pooled tensor of <paramref name="to"/> holding the same values.</summary>
    public static Tensor Convert(Tensor source, TensorDataType to)
    {
        var target = Tensor.Rent(to, source.Shape);
        switch ((source.DataType, to))
        {
            case (TensorDataType.UInt8, TensorDataType.Fp32):
                {
                    var dst = target.AsSpan<float>();
                    var src = source.Bytes;
                    for (var i = 0; i < src.Length; i++)
                    {
                        dst[i] = src[i];
                    }
                    break;
                }
            case (TensorDataType.UInt8, TensorDataType.Fp16):
                {
                    var dst = target.AsSpan<Half>();
                    var src = source.Bytes;
                    for (var i = 0; i < src.Length; i++)
                    {
                        dst[i] = (Half)src[i];
                    }
                    break;
                }
            case (TensorDataType.Fp32, TensorDataType.Fp16):
                {
                    var dst = target.AsSpan<Half>();
                    var src = source.AsSpan<float>();
                    for (var i = 0; i < src.Length; i++)
                    {
                        dst[i] = (Half)src[i];
                    }
                    break;
                }
            case (TensorDataType.Fp16, TensorDataType.Fp32):
                {
                    var dst = target.AsSpan<float>();
                    var src = source.AsSpan<Half>();
                    for (var i = 0; i < src.Length; i++)
                    {
                        dst[i] = (float)src[i];
                    }
                    break;
                }
            default:
                target.Dispose();
                throw new InferenceRequestException($"cannot convert {source.DataType.ToKServeName()} to {to.ToKServeName()}");
        }
        return target;
    }
}
