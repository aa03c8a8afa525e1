using System.Numerics;
using System.Runtime.InteropServices;

namespace Histoscale.Quantization;

/// <summary>How calibration turns observed values into a quantization range.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>The values at the given percentile from each end: rare outliers no longer stretch the scale.</summary>
    Percentile,
}

/// <summary>
/// Streaming summary of one activation tensor over all calibration batches: exact min/max plus a fixed-size
/// histogram (memory does not grow with the number of tiles). The histogram spans [-limit, limit); when a value
/// falls outside, the limit doubles and adjacent bins merge, so earlier counts are kept, at half the resolution.
/// </summary>
internal sealed class RangeHistogram
{
    private const int Bins = 4096; // divisible by 4, see Double()
    private readonly long[] _counts = new long[Bins];
    private float _limit;

    public float Min { get; private set; } = float.PositiveInfinity;

    public float Max { get; private set; } = float.NegativeInfinity;

    public long Count { get; private set; }

    public void Add(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        var (min, max) = MinMax(values);
        if (!float.IsFinite(min) || !float.IsFinite(max))
        {
            throw new InvalidOperationException("calibration produced a non-finite activation (NaN or infinity)");
        }
        Min = MathF.Min(Min, min);
        Max = MathF.Max(Max, max);
        var absMax = MathF.Max(MathF.Abs(min), MathF.Abs(max));
        if (_limit == 0f)
        {
            _limit = MathF.Max(absMax, 1e-6f) * 1.0001f;
        }
        while (absMax >= _limit)
        {
            Double();
        }
        var perUnit = Bins / (2f * _limit);
        var offset = _limit;
        foreach (var v in values)
        {
            var bin = (int)((v + offset) * perUnit);
            _counts[Math.Min(bin, Bins - 1)]++;
        }
        Count += values.Length;
    }

    /// <summary>The range to quantize to: min/max, or the given percentile (e.g. 99.99) cut from each tail.</summary>
    public (float Min, float Max) Range(CalibrationMethod method, double percentile = 99.99)
    {
        if (Count == 0)
        {
            return (0f, 0f);
        }
        if (method == CalibrationMethod.MinMax)
        {
            return (Min, Max);
        }
        var tail = (long)Math.Floor(Count * (100.0 - percentile) / 100.0);
        var width = 2f * _limit / Bins;
        long seen = 0;
        var low = Min;
        for (var b = 0; b < Bins; b++)
        {
            seen += _counts[b];
            if (seen > tail)
            {
                low = MathF.Max(Min, (b * width) - _limit);
                break;
            }
        }
        seen = 0;
        var high = Max;
        for (var b = Bins - 1; b >= 0; b--)
        {
            seen += _counts[b];
            if (seen > tail)
            {
                high = MathF.Min(Max, ((b + 1) * width) - _limit);
                break;
            }
        }
        return (low, high);
    }

    private void Double()
    {
        // Old bins 2m, 2m+1 (width w over [-L, L)) form new bin Bins/4 + m (width 2w over [-2L, 2L)).
        var merged = new long[Bins];
        for (var m = 0; m < Bins / 2; m++)
        {
            merged[(Bins / 4) + m] = _counts[2 * m] + _counts[(2 * m) + 1];
        }
        merged.CopyTo(_counts, 0);
        _limit *= 2f;
    }

    private static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        var i = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
            var vmin = vectors[0];
            var vmax = vectors[0];
            foreach (var v in vectors)
            {
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
            }
            for (var k = 0; k < Vector<float>.Count; k++)
            {
                min = MathF.Min(min, vmin[k]);
                max = MathF.Max(max, vmax[k]);
            }
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++)
        {
            min = MathF.Min(min, values[i]);
            max = MathF.Max(max, values[i]);
        }
        return (min, max);
    }
}
