namespace Histoscale.Stain;

/// <summary>
/// Ruderman's lαβ space as Reinhard et al. (2001) use it: RGB (scaled to [0, 1]) → LMS by the paper's matrix,
/// log10, then the decorrelating rotation. The inverse RGB matrix is the exact inverse of the forward one (the
/// paper prints it to four decimals), so equal statistics give back the same pixels.
/// </summary>
internal static class LabSpace
{
    /// <summary>RGB → LMS (Reinhard 2001, eq. 4).</summary>
    public static readonly double[,] RgbToLms =
    {
        { 0.3811, 0.5783, 0.0402 },
        { 0.1967, 0.7244, 0.0782 },
        { 0.0241, 0.1288, 0.8444 },
    };

    /// <summary>log10 LMS → lαβ (eq. 6): diag(1/√3, 1/√6, 1/√2) · [[1,1,1],[1,1,−2],[1,−1,0]].</summary>
    public static readonly double[,] LogLmsToLab = BuildLab();

    public static readonly double[,] LmsToRgb = Matrix3.Inverse(RgbToLms);

    public static readonly double[,] LabToLogLms = Matrix3.Inverse(LogLmsToLab);

    private static double[,] BuildLab()
    {
        double a = 1 / Math.Sqrt(3), b = 1 / Math.Sqrt(6), c = 1 / Math.Sqrt(2);
        return new double[,]
        {
            { a, a, a },
            { b, b, -2 * b },
            { c, -c, 0 },
        };
    }

    /// <summary>lαβ of one pixel (bytes; each channel taken as at least 1 so the logarithm is finite).</summary>
    public static void ToLab(byte r, byte g, byte b, Span<double> lab)
    {
        Span<double> rgb = [Math.Max((int)r, 1) / 255.0, Math.Max((int)g, 1) / 255.0, Math.Max((int)b, 1) / 255.0];
        Span<double> log = stackalloc double[3];
        for (var i = 0; i < 3; i++)
        {
            log[i] = Math.Log10((RgbToLms[i, 0] * rgb[0]) + (RgbToLms[i, 1] * rgb[1]) + (RgbToLms[i, 2] * rgb[2]));
        }
        for (var i = 0; i < 3; i++)
        {
            lab[i] = (LogLmsToLab[i, 0] * log[0]) + (LogLmsToLab[i, 1] * log[1]) + (LogLmsToLab[i, 2] * log[2]);
        }
    }
}

/// <summary>3×3 matrix helpers (row-major double[3,3]).</summary>
internal static class Matrix3
{
    public static double[,] Inverse(double[,] m)
    {
        var det = (m[0, 0] * ((m[1, 1] * m[2, 2]) - (m[1, 2] * m[2, 1])))
            - (m[0, 1] * ((m[1, 0] * m[2, 2]) - (m[1, 2] * m[2, 0])))
            + (m[0, 2] * ((m[1, 0] * m[2, 1]) - (m[1, 1] * m[2, 0])));
        if (Math.Abs(det) < 1e-12)
        {
            throw new StainException("stain matrix is singular");
        }
        var r = new double[3, 3];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                // Cofactor of (j, i) over the determinant.
                int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
                r[i, j] = ((m[r0, c0] * m[r1, c1]) - (m[r0, c1] * m[r1, c0])) / det;
            }
        }
        return r;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        var r = new double[3, 3];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                r[i, j] = (a[i, 0] * b[0, j]) + (a[i, 1] * b[1, j]) + (a[i, 2] * b[2, j]);
            }
        }
        return r;
    }

    /// <summary>
    /// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations: eigenvalues descending, eigenvectors
    /// as the columns of the returned matrix.
    /// </summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] symmetric)
    {
        var a = (double[,])symmetric.Clone();
        var v = new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
        for (var sweep = 0; sweep < 64; sweep++)
        {
            var off = (a[0, 1] * a[0, 1]) + (a[0, 2] * a[0, 2]) + (a[1, 2] * a[1, 2]);
            if (off < 1e-30)
            {
                break;
            }
            for (var p = 0; p < 2; p++)
            {
                for (var q = p + 1; q < 3; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300)
                    {
                        continue;
                    }
                    var theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }
                    var c = 1 / Math.Sqrt((t * t) + 1);
                    var s = t * c;
                    for (var k = 0; k < 3; k++)
                    {
                        // A ← Jᵀ A J, V ← V J.
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = (c * akp) - (s * akq);
                        a[k, q] = (s * akp) + (c * akq);
                    }
                    for (var k = 0; k < 3; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = (c * apk) - (s * aqk);
                        a[q, k] = (s * apk) + (c * aqk);
                    }
                    for (var k = 0; k < 3; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = (c * vkp) - (s * vkq);
                        v[k, q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }
        int[] order = [0, 1, 2];
        Array.Sort(order, (x, y) => a[y, y].CompareTo(a[x, x]));
        var values = new double[3];
        var vectors = new double[3, 3];
        for (var i = 0; i < 3; i++)
        {
            values[i] = a[order[i], order[i]];
            for (var k = 0; k < 3; k++)
            {
                vectors[k, i] = v[k, order[i]];
            }
        }
        return (values, vectors);
    }

    /// <summary>The <paramref name="percent"/> percentile of <paramref name="sorted"/> (ascending), linearly interpolated between ranks.</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double percent)
    {
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no values");
        }
        var rank = percent / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + ((rank - lo) * (sorted[hi] - sorted[lo]));
    }
}
