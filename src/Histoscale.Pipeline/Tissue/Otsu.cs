namespace Histoscale.Pipeline.Tissue;

/// <summary>Otsu's threshold on a 256-bin histogram: the level that maximises between-class variance.</summary>
internal static class Otsu
{
    /// <summary>The threshold t such that values &gt;= t form the upper class; 0 for an empty or flat histogram.</summary>
    public static int Threshold(ReadOnlySpan<long> histogram)
    {
        if (histogram.Length != 256)
        {
            throw new ArgumentException("histogram must have 256 bins", nameof(histogram));
        }
        long total = 0;
        double sum = 0;
        for (var i = 0; i < 256; i++)
        {
            total += histogram[i];
            sum += (double)i * histogram[i];
        }
        if (total == 0)
        {
            return 0;
        }
        long below = 0;
        double sumBelow = 0;
        double best = -1;
        var threshold = 0;
        for (var t = 0; t < 255; t++)
        {
            below += histogram[t];
            sumBelow += (double)t * histogram[t];
            var above = total - below;
            if (below == 0 || above == 0)
            {
                continue;
            }
            var meanBelow = sumBelow / below;
            var meanAbove = (sum - sumBelow) / above;
            var between = (double)below * above * (meanBelow - meanAbove) * (meanBelow - meanAbove);
            if (between > best)
            {
                best = between;
                threshold = t + 1;
            }
        }
        return threshold;
    }
}
