namespace Histoscale.Slides.Tests.Support;

/// <summary>Pixel comparisons used by conformance tests.</summary>
public static class Pixels
{
    /// <summary>Mean absolute difference per channel (R, G, B, A) of two equally sized RGBA buffers.</summary>
    public static double[] MeanAbsoluteDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        var sums = new long[4];
        for (var i = 0; i < a.Length; i++)
        {
            sums[i & 3] += Math.Abs(a[i] - b[i]);
        }
        var n = a.Length / 4.0;
        return [.. sums.Select(s => s / n)];
    }

    public static void AssertClose(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, double maxMad, string what)
    {
        var mad = MeanAbsoluteDifference(actual, expected);
        Assert.True(mad.All(m => m < maxMad), $"{what}: mean absolute difference per channel {string.Join(", ", mad.Select(m => m.ToString("F3")))} (limit {maxMad})");
    }
}
