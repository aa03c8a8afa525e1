namespace Histoscale.Inference.Tests;

/// <summary>
/// Independent C# implementations of what the demo models compute, written from the formulas documented on
/// StainVectors/DemoModels (not from the graph code), in double precision.
/// </summary>
internal static class Reference
{
    private static readonly double[,] Stains =
    {
        { 0.650, 0.704, 0.286 },
        { 0.072, 0.990, 0.105 },
        { 0.268, 0.570, 0.776 },
    };

    /// <summary>Inverse of the row-normalised stain matrix by Gauss-Jordan elimination.</summary>
    public static double[,] Deconvolution()
    {
        var a = new double[3, 6];
        for (var r = 0; r < 3; r++)
        {
            var norm = Math.Sqrt(Enumerable.Range(0, 3).Sum(c => Stains[r, c] * Stains[r, c]));
            for (var c = 0; c < 3; c++)
            {
                a[r, c] = Stains[r, c] / norm;
            }
            a[r, 3 + r] = 1;
        }
        for (var p = 0; p < 3; p++)
        {
            var pivot = a[p, p];
            for (var c = 0; c < 6; c++)
            {
                a[p, c] /= pivot;
            }
            for (var r = 0; r < 3; r++)
            {
                if (r != p)
                {
                    var f = a[r, p];
                    for (var c = 0; c < 6; c++)
                    {
                        a[r, c] -= f * a[p, c];
                    }
                }
            }
        }
        var inv = new double[3, 3];
        for (var r = 0; r < 3; r++)
        {
            for (var c = 0; c < 3; c++)
            {
                inv[r, c] = a[r, 3 + c];
            }
        }
        return inv;
    }

    public static double Od(byte value) => -Math.Log10((value + 1) / 256.0);

    /// <summary>Stain <paramref name="stain"/> concentration at one pixel.</summary>
    public static double Concentration(double[,] inv, byte r, byte g, byte b, int stain) =>
        (Od(r) * inv[0, stain]) + (Od(g) * inv[1, stain]) + (Od(b) * inv[2, stain]);

    /// <summary>Mean hematoxylin concentration per tile of an NCHW uint8 batch.</summary>
    public static double[] MeanHematoxylin(byte[] nchw, int batch, int size)
    {
        var inv = Deconvolution();
        var plane = size * size;
        var result = new double[batch];
        for (var n = 0; n < batch; n++)
        {
            double sum = 0;
            var baseIndex = n * 3 * plane;
            for (var p = 0; p < plane; p++)
            {
                sum += Concentration(inv, nchw[baseIndex + p], nchw[baseIndex + plane + p], nchw[baseIndex + (2 * plane) + p], 0);
            }
            result[n] = sum / plane;
        }
        return result;
    }
}
