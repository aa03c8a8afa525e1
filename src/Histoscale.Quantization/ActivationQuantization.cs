namespace Histoscale.Quantization;

/// <summary>
/// Affine uint8 parameters of one activation tensor: real = (q - ZeroPoint) × Scale. The range always contains 0,
/// so 0 is exact (padding, Relu); a range starting at 0 gets zero point 0, which makes the quantizer clip negatives
/// and so stand in for a following Relu.
/// </summary>
internal readonly record struct ActivationQuantization(float Scale, byte ZeroPoint)
{
    public static ActivationQuantization FromRange(float min, float max)
    {
        min = MathF.Min(min, 0f);
        max = MathF.Max(max, 0f);
        if (!float.IsFinite(min) || !float.IsFinite(max))
        {
            throw new ArgumentException($"activation range [{min}, {max}] is not finite");
        }
        var scale = (max - min) / 255f;
        if (scale <= 0f || !float.IsNormal(scale))
        {
            // A tensor that was always 0 (dead channel group, unused branch): any scale represents it.
            return new ActivationQuantization(1f, 0);
        }
        var zeroPoint = (byte)Math.Clamp(MathF.Round(-min / scale), 0f, 255f);
        return new ActivationQuantization(scale, zeroPoint);
    }

    /// <summary>The real values the uint8 grid covers.</summary>
    public (float Min, float Max) Range => ((0 - ZeroPoint) * Scale, (255 - ZeroPoint) * Scale);
}
