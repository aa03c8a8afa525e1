namespace Histoscale.Pipeline.Tests.Stain;

/// <summary>
/// Plain, slow implementations written from the papers, to check the library against: Macenko et al. 2009 ("A method
/// for normalizing histology slides for quantitative analysis") and Reinhard et al. 2001 ("Color transfer between
/// images", with the paper's own printed matrices). Doubles, one pixel at a time, eigenvectors by power iteration,
/// percentiles by sorting; nothing shared with Histoscale.Stain.
/// </summary>
internal static class ReferenceStain
{
    public const double Beta = 0.15;
    public const double Alpha = 1;

    public sealed record Vectors(double[] H, double[] E, double MaxH, double MaxE);

    public sealed record Lab(double[] Mean, double[] Std);

    /// <summary>The RGB triples of opaque pixels where the mask is set.</summary>
    public static List<double[]> TissuePixels(byte[] rgba, byte[] mask)
    {
        var list = new List<double[]>();
        for (var i = 0; i < rgba.Length / 4; i++)
        {
            if (rgba[(i * 4) + 3] == 255 && mask[i] != 0)
            {
                list.Add([rgba[i * 4], rgba[(i * 4) + 1], rgba[(i * 4) + 2]]);
            }
        }
        return list;
    }

    /// <summary>Optical density, OD = −ln(I / I0) with I0 = 255 (intensities below 1 taken as 1).</summary>
    public static double[] Od(double[] rgb) => [.. rgb.Select(v => -Math.Log(Math.Max(v, 1) / 255))];

    /// <summary>Percentile with linear interpolation between closest ranks (as numpy's default).</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((rank - lo) * (sorted[hi] - sorted[lo]));
    }

    public static Vectors MacenkoFit(List<double[]> rgb)
    {
        var od = rgb.Select(Od).ToList();
        // 1–2: drop pixels with OD below β in any channel.
        var hat = od.Where(v => v.All(x => x >= Beta)).ToList();
        // 3: covariance; the plane of its two largest eigenvectors.
        var mean = Enumerable.Range(0, 3).Select(c => hat.Average(v => v[c])).ToArray();
        var cov = new double[3, 3];
        for (var a = 0; a < 3; a++)
        {
            for (var b = 0; b < 3; b++)
            {
                cov[a, b] = hat.Sum(v => (v[a] - mean[a]) * (v[b] - mean[b])) / (hat.Count - 1);
            }
        }
        var (l1, v1) = PowerIteration(cov);
        var deflated = new double[3, 3];
        for (var a = 0; a < 3; a++)
        {
            for (var b = 0; b < 3; b++)
            {
                deflated[a, b] = cov[a, b] - (l1 * v1[a] * v1[b]);
            }
        }
        var (_, v2) = PowerIteration(deflated);
        if (v1.Sum() < 0)
        {
            v1 = [.. v1.Select(x => -x)];
        }
        // 4–5: angle of each projected pixel; robust extremes at the α and 100−α percentiles.
        var phi = hat.Select(v => Math.Atan2(Dot(v, v2), Dot(v, v1))).ToList();
        var min = Percentile(phi, Alpha);
        var max = Percentile(phi, 100 - Alpha);
        var vMin = Unit([.. Enumerable.Range(0, 3).Select(c => (v1[c] * Math.Cos(min)) + (v2[c] * Math.Sin(min)))]);
        var vMax = Unit([.. Enumerable.Range(0, 3).Select(c => (v1[c] * Math.Cos(max)) + (v2[c] * Math.Sin(max)))]);
        // Hematoxylin first: the vector with the larger red optical density.
        var (h, e) = vMin[0] > vMax[0] ? (vMin, vMax) : (vMax, vMin);
        return WithMaxima(od, h, e);
    }

    /// <summary>The 99th percentile concentration of each stain over all tissue pixels, concentrations by least squares.</summary>
    public static Vectors WithMaxima(List<double[]> od, double[] h, double[] e)
    {
        var c = od.Select(v => Concentrations(v, h, e)).ToList();
        return new Vectors(h, e, Percentile(c.Select(x => x[0]), 99), Percentile(c.Select(x => x[1]), 99));
    }

    /// <summary>Least squares: minimise |OD − h·ch − e·ce|² by the 2×2 normal equations.</summary>
    public static double[] Concentrations(double[] od, double[] h, double[] e)
    {
        double hh = Dot(h, h), he = Dot(h, e), ee = Dot(e, e), ho = Dot(h, od), eo = Dot(e, od);
        var det = (hh * ee) - (he * he);
        return [((ee * ho) - (he * eo)) / det, ((hh * eo) - (he * ho)) / det];
    }

    /// <summary>Macenko's normalisation of one pixel: concentrations scaled to the target's maxima, recomposed with its vectors.</summary>
    public static byte[] MacenkoNormalise(byte r, byte g, byte b, Vectors source, Vectors target)
    {
        var od = Od([r, g, b]);
        if (od.All(x => x < Beta))
        {
            return [r, g, b]; // glass
        }
        var c = Concentrations(od, source.H, source.E);
        var ch = c[0] * target.MaxH / source.MaxH;
        var ce = c[1] * target.MaxE / source.MaxE;
        return [.. Enumerable.Range(0, 3).Select(k => ToByte(255 * Math.Exp(-((target.H[k] * ch) + (target.E[k] * ce)))))];
    }

    // Reinhard 2001, eq. 4 (RGB → LMS), its printed inverse, and eq. 6 / its inverse (log LMS ↔ lαβ).
    private static readonly double[,] RgbLms = { { 0.3811, 0.5783, 0.0402 }, { 0.1967, 0.7244, 0.0782 }, { 0.0241, 0.1288, 0.8444 } };
    private static readonly double[,] LmsRgb = { { 4.4679, -3.5873, 0.1193 }, { -1.2186, 2.3809, -0.1624 }, { 0.0497, -0.2439, 1.2045 } };

    public static double[] ToLab(double[] rgb)
    {
        var unit = rgb.Select(v => Math.Max(v, 1) / 255).ToArray();
        var lms = Apply(RgbLms, unit).Select(Math.Log10).ToArray();
        return
        [
            (lms[0] + lms[1] + lms[2]) / Math.Sqrt(3),
            (lms[0] + lms[1] - (2 * lms[2])) / Math.Sqrt(6),
            (lms[0] - lms[1]) / Math.Sqrt(2),
        ];
    }

    public static double[] FromLab(double[] lab)
    {
        double a = lab[0] * Math.Sqrt(3) / 3, b = lab[1] * Math.Sqrt(6) / 6, c = lab[2] * Math.Sqrt(2) / 2;
        double[] log = [a + b + c, a + b - c, a - (2 * b)];
        return [.. Apply(LmsRgb, [.. log.Select(v => Math.Pow(10, v))]).Select(v => v * 255)];
    }

    public static Lab ReinhardFit(List<double[]> rgb)
    {
        var lab = rgb.Select(ToLab).ToList();
        var mean = Enumerable.Range(0, 3).Select(c => lab.Average(v => v[c])).ToArray();
        var std = Enumerable.Range(0, 3).Select(c => Math.Sqrt(lab.Average(v => (v[c] - mean[c]) * (v[c] - mean[c])))).ToArray();
        return new Lab(mean, std);
    }

    public static byte[] ReinhardNormalise(byte r, byte g, byte b, Lab source, Lab target)
    {
        if (Od([r, g, b]).All(x => x < Beta))
        {
            return [r, g, b]; // glass
        }
        var lab = ToLab([r, g, b]);
        var mapped = Enumerable.Range(0, 3).Select(c => ((lab[c] - source.Mean[c]) * target.Std[c] / source.Std[c]) + target.Mean[c]).ToArray();
        return [.. FromLab(mapped).Select(ToByte)];
    }

    public static double Dot(double[] a, double[] b) => (a[0] * b[0]) + (a[1] * b[1]) + (a[2] * b[2]);

    public static double[] Unit(double[] v) => [.. v.Select(x => x / Math.Sqrt(Dot(v, v)))];

    /// <summary>Angle between two directions, in degrees.</summary>
    public static double AngleDegrees(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        Math.Acos(Math.Clamp(Dot([.. a], [.. b]) / Math.Sqrt(Dot([.. a], [.. a]) * Dot([.. b], [.. b])), -1, 1)) * 180 / Math.PI;

    private static byte ToByte(double v) => (byte)Math.Floor(Math.Clamp(v, 0, 255) + 0.5);

    private static double[] Apply(double[,] m, double[] v) =>
        [.. Enumerable.Range(0, 3).Select(i => (m[i, 0] * v[0]) + (m[i, 1] * v[1]) + (m[i, 2] * v[2]))];

    /// <summary>Largest eigenvalue and its unit eigenvector of a symmetric positive semi-definite 3×3 matrix.</summary>
    private static (double Value, double[] Vector) PowerIteration(double[,] m)
    {
        double[] v = [1, 0.7, 0.3];
        for (var i = 0; i < 5000; i++)
        {
            v = Unit(Apply(m, v));
        }
        return (Dot(v, Apply(m, v)), v);
    }
}
