namespace Histoscale.Quantization;

/// <summary>A weight quantized symmetrically per output channel: w ≈ Values × Scales[channel] (zero point 0).</summary>
internal sealed record QuantizedWeight(sbyte[] Values, float[] Scales, int Axis);

/// <summary>
/// Per-output-channel symmetric int8 weight quantization (ONNX Runtime's u8 activation × s8 weight kernels want
/// zero point 0). Per-channel scales matter: channel magnitudes in one conv often differ by 100×, so one scale
/// for the whole tensor would leave small channels with a few levels.
/// </summary>
internal static class WeightQuantizer
{
    /// <summary>
    /// Quantizes <paramref name="weights"/> of shape <paramref name="dims"/> with one scale per index of
    /// <paramref name="axis"/>. With <paramref name="reduceRange"/> values stay in ±63 (7 bits), which avoids the
    /// int16 saturation of the u8×s8 multiply-add used by CPUs without VNNI.
    /// </summary>
    public static QuantizedWeight Quantize(ReadOnlySpan<float> weights, ReadOnlySpan<long> dims, int axis, bool reduceRange = false)
    {
        var channels = (int)dims[axis];
        long inner = 1;
        for (var d = axis + 1; d < dims.Length; d++)
        {
            inner *= dims[d];
        }
        var outer = weights.Length / (channels * inner);
        var qmax = reduceRange ? 63f : 127f;

        var maxAbs = new float[channels];
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var block = weights.Slice((int)(((o * channels) + c) * inner), (int)inner);
                var m = maxAbs[c];
                foreach (var w in block)
                {
                    m = MathF.Max(m, MathF.Abs(w));
                }
                maxAbs[c] = m;
            }
        }
        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            // An all-zero channel quantizes to zeros under any scale; 1 keeps the bias scale (x_scale × w_scale) sane.
            // So does a channel too small for a finite 1/scale (subnormal weights): it is zero at int8 precision anyway.
            var scale = maxAbs[c] / qmax;
            scales[c] = scale > 0f && float.IsNormal(scale) && float.IsFinite(1f / scale) ? scale : 1f;
        }
        var values = new sbyte[weights.Length];
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = (int)(((o * channels) + c) * inner);
                var inverse = 1f / scales[c];
                for (var i = start; i < start + inner; i++)
                {
                    values[i] = (sbyte)Math.Clamp(MathF.Round(weights[i] * inverse), -qmax, qmax);
                }
            }
        }
        return new QuantizedWeight(values, scales, axis);
    }

    /// <summary>
    /// Quantizes a bias to int32 with scale input_scale × weight_scale[c], as the integer kernels add it to the int32
    /// accumulator. Returns the bias scales too (the DequantizeLinear form needs them).
    /// </summary>
    public static (int[] Values, float[] Scales) QuantizeBias(ReadOnlySpan<float> bias, float inputScale, ReadOnlySpan<float> weightScales)
    {
        var values = new int[bias.Length];
        var scales = new float[bias.Length];
        for (var c = 0; c < bias.Length; c++)
        {
            var s = inputScale * weightScales[weightScales.Length == 1 ? 0 : c];
            scales[c] = s;
            var q = Math.Round((double)bias[c] / s);
            values[c] = (int)Math.Clamp(q, int.MinValue, int.MaxValue);
        }
        return (values, scales);
    }
}
