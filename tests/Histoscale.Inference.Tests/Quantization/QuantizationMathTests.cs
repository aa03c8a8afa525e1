using Histoscale.Quantization;

namespace Histoscale.Inference.Tests.Quantization;

public class QuantizationMathTests
{
    [Fact]
    public void ActivationRangeAlwaysHoldsZeroExactly()
    {
        var relu = ActivationQuantization.FromRange(0f, 5.1f);
        Assert.Equal(0, relu.ZeroPoint);
        Assert.Equal(5.1f / 255f, relu.Scale, 6);

        var positive = ActivationQuantization.FromRange(2f, 4f); // widened to [0, 4]
        Assert.Equal(0, positive.ZeroPoint);
        Assert.Equal(4f / 255f, positive.Scale, 6);

        var signed = ActivationQuantization.FromRange(-1f, 3f);
        Assert.Equal(64, signed.ZeroPoint); // round(1 / (4/255)) = round(63.75)
        Assert.Equal(4f / 255f, signed.Scale, 6);

        Assert.Equal(new ActivationQuantization(1f, 0), ActivationQuantization.FromRange(0f, 0f));
    }

    [Fact]
    public void WeightsGetOneSymmetricScalePerOutputChannel()
    {
        // Two output channels of 1×2×1×1: magnitudes 100× apart.
        float[] w = [1.27f, -0.5f, 0.0127f, 0.01f];
        var q = WeightQuantizer.Quantize(w, [2, 2, 1, 1], axis: 0);
        Assert.Equal(0.01f, q.Scales[0], 6);
        Assert.Equal(0.0001f, q.Scales[1], 8);
        Assert.Equal([127, -50, 127, 100], q.Values.Select(v => (int)v));

        var narrow = WeightQuantizer.Quantize(w, [2, 2, 1, 1], axis: 0, reduceRange: true);
        Assert.Equal(63, narrow.Values.Max(v => (int)v));

        // Gemm weight [in=2, out=2] without transB: channels along axis 1.
        var columns = WeightQuantizer.Quantize([1f, 2f, -4f, 0.5f], [2, 2], axis: 1);
        Assert.Equal(4f / 127f, columns.Scales[0], 6);
        Assert.Equal(2f / 127f, columns.Scales[1], 6);

        var (bias, biasScales) = WeightQuantizer.QuantizeBias([0.5f, -0.02f], 0.1f, q.Scales);
        Assert.Equal([500, -2000], bias);
        Assert.Equal(0.001f, biasScales[0], 7);
    }

    [Fact]
    public void ASubnormalChannelQuantizesToZerosWithAFiniteScale()
    {
        // 1e-40 is subnormal: its channel's scale would be too, and 1/scale infinite (0 × ∞ = NaN for a zero weight).
        var q = WeightQuantizer.Quantize([1e-40f, 0f, 0.5f, -1f], [2, 2, 1, 1], axis: 0);
        Assert.Equal(1f, q.Scales[0]);
        Assert.Equal([0, 0], q.Values[..2]);
        Assert.Equal(1f / 127, q.Scales[1], 6);
        Assert.Equal([64, -127], q.Values[2..]);
    }

    [Fact]
    public void HistogramKeepsExactExtremesAndCutsPercentileTails()
    {
        var h = new RangeHistogram();
        var values = new float[100_000];
        var rng = new Random(3);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }
        h.Add(values);
        h.Add([40f, -0.5f]); // one outlier: the histogram's limit doubles several times, keeping earlier counts
        Assert.Equal(100_002, h.Count);
        Assert.Equal((values.Min(), 40f), h.Range(CalibrationMethod.MinMax));

        var (low, high) = h.Range(CalibrationMethod.Percentile, 99.9);
        Assert.InRange(high, 0.95f, 1.05f); // the outlier is past the 99.9th percentile
        Assert.InRange(low, -1.05f, -0.95f);
    }

    [Fact]
    public void AgreementComparesTileByTile()
    {
        var a = new OutputAgreement();
        a.Add([1f, 0f, 2f, 0f], [2f, 0f, 0f, 1f], tiles: 2);
        Assert.Equal(2, a.Tiles);
        Assert.Equal(0.5, a.MeanCosine, 6); // same direction, then orthogonal
        Assert.Equal(0.5, a.Top1Agreement, 6);
        Assert.Equal(1.0, a.MeanAbsError, 6);
    }
}
