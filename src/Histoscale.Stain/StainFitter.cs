namespace Histoscale.Stain;

/// <summary>
/// Estimates a slide's stain parameters from its tissue pixels (a low-resolution level and its tissue mask, as the
/// pipeline gives them). Deterministic: the same pixels and options give the same parameters.
/// </summary>
public static class StainFitter
{
    /// <summary>
    /// Fits <paramref name="method"/> on the opaque pixels of <paramref name="rgba"/> where <paramref name="mask"/> is
    /// non-zero (an empty mask takes every opaque pixel). Beyond <see cref="StainOptions.MaxPixels"/> tissue pixels,
    /// an evenly spaced subsample is used.
    /// </summary>
    /// <exception cref="StainException">Too few (stained) tissue pixels to fit, or bad options.</exception>
    public static StainParameters Fit(StainMethod method, ReadOnlySpan<byte> rgba, ReadOnlySpan<byte> mask, StainOptions? options = null)
    {
        options ??= new StainOptions();
        options.Validate();
        var pixels = rgba.Length / 4;
        if (mask.Length != 0 && mask.Length < pixels)
        {
            throw new ArgumentException("mask shorter than the image");
        }
        var tissue = Collect(rgba, mask, pixels, options.MaxPixels);
        if (tissue.Length / 3 < 100)
        {
            throw new StainException($"only {tissue.Length / 3} tissue pixels to fit {method.Name()} on (at least 100 needed)");
        }
        return method switch
        {
            StainMethod.Reinhard => FitReinhard(tissue),
            StainMethod.Macenko => FitVectors(method, tissue, options, Macenko(OpticalDensity(tissue), options)),
            _ => FitVectors(method, tissue, options, Vahadane(OpticalDensity(tissue), options)),
        };
    }

    /// <summary>The RGB bytes of the opaque masked pixels, evenly subsampled to at most <paramref name="max"/>.</summary>
    private static byte[] Collect(ReadOnlySpan<byte> rgba, ReadOnlySpan<byte> mask, int pixels, int max)
    {
        var count = 0;
        for (var i = 0; i < pixels; i++)
        {
            if (rgba[(i * 4) + 3] == 255 && (mask.Length == 0 || mask[i] != 0))
            {
                count++;
            }
        }
        var take = Math.Min(count, max);
        var result = new byte[take * 3];
        var seen = 0;
        var taken = 0;
        for (var i = 0; i < pixels && taken < take; i++)
        {
            if (rgba[(i * 4) + 3] != 255 || (mask.Length != 0 && mask[i] == 0))
            {
                continue;
            }
            // The k-th tissue pixel is taken when ⌊k·take/count⌋ steps up at k + 1: exactly `take` pixels, evenly spaced.
            if ((long)seen * take / count != ((long)seen + 1) * take / count)
            {
                result[taken * 3] = rgba[i * 4];
                result[(taken * 3) + 1] = rgba[(i * 4) + 1];
                result[(taken * 3) + 2] = rgba[(i * 4) + 2];
                taken++;
            }
            seen++;
        }
        return taken == take ? result : result[..(taken * 3)];
    }

    /// <summary>Optical density per channel, −ln(max(v, 1) / 255), indexed by byte value.</summary>
    internal static readonly double[] OdOf = BuildOd();

    private static double[] BuildOd()
    {
        var table = new double[256];
        for (var v = 0; v < 256; v++)
        {
            table[v] = -Math.Log(Math.Max(v, 1) / 255.0);
        }
        return table;
    }

    private static double[] OpticalDensity(byte[] rgb)
    {
        var od = new double[rgb.Length];
        for (var i = 0; i < rgb.Length; i++)
        {
            od[i] = OdOf[rgb[i]];
        }
        return od;
    }

    private static StainParameters FitReinhard(byte[] rgb)
    {
        var n = rgb.Length / 3;
        Span<double> sum = stackalloc double[3];
        Span<double> squares = stackalloc double[3];
        Span<double> lab = stackalloc double[3];
        sum.Clear();
        squares.Clear();
        for (var i = 0; i < n; i++)
        {
            LabSpace.ToLab(rgb[i * 3], rgb[(i * 3) + 1], rgb[(i * 3) + 2], lab);
            for (var c = 0; c < 3; c++)
            {
                sum[c] += lab[c];
                squares[c] += lab[c] * lab[c];
            }
        }
        var mean = new double[3];
        var std = new double[3];
        for (var c = 0; c < 3; c++)
        {
            mean[c] = sum[c] / n;
            std[c] = Math.Sqrt(Math.Max(0, (squares[c] / n) - (mean[c] * mean[c])));
            if (!(std[c] > 1e-6))
            {
                throw new StainException($"tissue has no colour variation in lαβ channel {c}: cannot fit reinhard");
            }
        }
        return StainParameters.ForLab(mean, std);
    }

    /// <summary>Stain vectors (H, E) → parameters with the robust maximum concentration of each over all tissue pixels.</summary>
    private static StainParameters FitVectors(StainMethod method, byte[] rgb, StainOptions options, (double[] H, double[] E) vectors)
    {
        var od = OpticalDensity(rgb);
        var n = od.Length / 3;
        var pinv = PseudoInverse(vectors.H, vectors.E);
        var ch = new double[n];
        var ce = new double[n];
        for (var i = 0; i < n; i++)
        {
            double r = od[i * 3], g = od[(i * 3) + 1], b = od[(i * 3) + 2];
            ch[i] = (pinv[0, 0] * r) + (pinv[0, 1] * g) + (pinv[0, 2] * b);
            ce[i] = (pinv[1, 0] * r) + (pinv[1, 1] * g) + (pinv[1, 2] * b);
        }
        Array.Sort(ch);
        Array.Sort(ce);
        var maxH = Matrix3.Percentile(ch, options.ConcentrationPercentile);
        var maxE = Matrix3.Percentile(ce, options.ConcentrationPercentile);
        if (!(maxH > 1e-6 && maxE > 1e-6))
        {
            throw new StainException($"{method.Name()}: a stain has no positive concentration on this tissue (hematoxylin {maxH:G3}, eosin {maxE:G3})");
        }
        return StainParameters.ForStainVectors(method, vectors.H, vectors.E, maxH, maxE);
    }

    /// <summary>(SᵀS)⁻¹Sᵀ for S = [h e] (3×2): concentrations from OD by least squares.</summary>
    internal static double[,] PseudoInverse(IReadOnlyList<double> h, IReadOnlyList<double> e)
    {
        double hh = 0, he = 0, ee = 0;
        for (var c = 0; c < 3; c++)
        {
            hh += h[c] * h[c];
            he += h[c] * e[c];
            ee += e[c] * e[c];
        }
        var det = (hh * ee) - (he * he);
        if (!(Math.Abs(det) > 1e-12))
        {
            throw new StainException("the two stain vectors are parallel");
        }
        var p = new double[2, 3];
        for (var c = 0; c < 3; c++)
        {
            p[0, c] = ((ee * h[c]) - (he * e[c])) / det;
            p[1, c] = ((hh * e[c]) - (he * h[c])) / det;
        }
        return p;
    }

    /// <summary>The OD rows with every channel at or above β (Macenko's "remove transparent pixels").</summary>
    private static double[] Stained(double[] od, double beta)
    {
        var n = od.Length / 3;
        var keep = new List<double>(od.Length);
        for (var i = 0; i < n; i++)
        {
            if (od[i * 3] >= beta && od[(i * 3) + 1] >= beta && od[(i * 3) + 2] >= beta)
            {
                keep.Add(od[i * 3]);
                keep.Add(od[(i * 3) + 1]);
                keep.Add(od[(i * 3) + 2]);
            }
        }
        if (keep.Count / 3 < 100)
        {
            throw new StainException($"only {keep.Count / 3} tissue pixels have an optical density of at least {beta} in every channel (at least 100 needed): is the tissue stained?");
        }
        return [.. keep];
    }

    /// <summary>
    /// Macenko 2009: eigenvectors of the OD covariance for its two largest eigenvalues span the stain plane; each
    /// pixel's angle in it, the α and 100 − α angle percentiles give the two extreme stain vectors; the one with
    /// the larger red OD is hematoxylin.
    /// </summary>
    internal static (double[] H, double[] E) Macenko(double[] allOd, StainOptions options)
    {
        var od = Stained(allOd, options.OdThreshold);
        var n = od.Length / 3;
        var mean = new double[3];
        for (var i = 0; i < n; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                mean[c] += od[(i * 3) + c];
            }
        }
        for (var c = 0; c < 3; c++)
        {
            mean[c] /= n;
        }
        var cov = new double[3, 3];
        for (var i = 0; i < n; i++)
        {
            for (var a = 0; a < 3; a++)
            {
                var da = od[(i * 3) + a] - mean[a];
                for (var b = a; b < 3; b++)
                {
                    cov[a, b] += da * (od[(i * 3) + b] - mean[b]);
                }
            }
        }
        for (var a = 0; a < 3; a++)
        {
            for (var b = a; b < 3; b++)
            {
                cov[a, b] /= n - 1;
                cov[b, a] = cov[a, b];
            }
        }
        var (_, vectors) = Matrix3.SymmetricEigen(cov);
        double[] v1 = [vectors[0, 0], vectors[1, 0], vectors[2, 0]];
        double[] v2 = [vectors[0, 1], vectors[1, 1], vectors[2, 1]];
        // The principal direction points into the (positive) optical densities, so angles lie around 0, not ±π.
        if (v1[0] + v1[1] + v1[2] < 0)
        {
            for (var c = 0; c < 3; c++)
            {
                v1[c] = -v1[c];
            }
        }
        var angles = new double[n];
        for (var i = 0; i < n; i++)
        {
            double r = od[i * 3], g = od[(i * 3) + 1], b = od[(i * 3) + 2];
            angles[i] = Math.Atan2((r * v2[0]) + (g * v2[1]) + (b * v2[2]), (r * v1[0]) + (g * v1[1]) + (b * v1[2]));
        }
        Array.Sort(angles);
        var lo = Matrix3.Percentile(angles, options.AnglePercentile);
        var hi = Matrix3.Percentile(angles, 100 - options.AnglePercentile);
        var vMin = new double[3];
        var vMax = new double[3];
        for (var c = 0; c < 3; c++)
        {
            vMin[c] = (v1[c] * Math.Cos(lo)) + (v2[c] * Math.Sin(lo));
            vMax[c] = (v1[c] * Math.Cos(hi)) + (v2[c] * Math.Sin(hi));
        }
        return vMin[0] > vMax[0] ? (Normalise(vMin), Normalise(vMax)) : (Normalise(vMax), Normalise(vMin));
    }

    /// <summary>
    /// Vahadane 2016's sparse non-negative factorisation OD ≈ W·H (W: 3×2 stain vectors, H: 2×n concentrations)
    /// minimising ‖OD − WH‖² + λ‖H‖₁ with W, H ≥ 0, by Lee–Seung multiplicative updates (the L1 weight in H's
    /// denominator), W's columns renormalised to unit length each iteration. Started from Macenko's vectors (clamped
    /// non-negative) for a deterministic, well-placed start; hematoxylin is the vector with the larger red OD.
    /// </summary>
    internal static (double[] H, double[] E) Vahadane(double[] allOd, StainOptions options)
    {
        var od = Stained(allOd, options.OdThreshold);
        var total = od.Length / 3;
        var n = Math.Min(total, options.FactorisationPixels);
        var v = new double[n * 3];
        for (var k = 0; k < n; k++)
        {
            var i = (int)((long)k * total / n);
            v[k * 3] = od[i * 3];
            v[(k * 3) + 1] = od[(i * 3) + 1];
            v[(k * 3) + 2] = od[(i * 3) + 2];
        }
        var (h0, e0) = Macenko(allOd, options);
        const double Floor = 1e-3;
        var w = new double[3, 2];
        for (var c = 0; c < 3; c++)
        {
            w[c, 0] = Math.Max(h0[c], Floor);
            w[c, 1] = Math.Max(e0[c], Floor);
        }
        NormaliseColumns(w, null, 0);
        // Concentrations start at the non-negative least-squares-ish projection.
        var hc = new double[2 * n];
        var pinv = PseudoInverse([w[0, 0], w[1, 0], w[2, 0]], [w[0, 1], w[1, 1], w[2, 1]]);
        for (var k = 0; k < n; k++)
        {
            for (var s = 0; s < 2; s++)
            {
                hc[(s * n) + k] = Math.Max(Floor, (pinv[s, 0] * v[k * 3]) + (pinv[s, 1] * v[(k * 3) + 1]) + (pinv[s, 2] * v[(k * 3) + 2]));
            }
        }
        const double Eps = 1e-12;
        var lambda = options.SparsityLambda;
        for (var iteration = 0; iteration < options.Iterations; iteration++)
        {
            // H ← H ⊙ (WᵀV) / (WᵀW H + λ)
            double g00 = 0, g01 = 0, g11 = 0;
            for (var c = 0; c < 3; c++)
            {
                g00 += w[c, 0] * w[c, 0];
                g01 += w[c, 0] * w[c, 1];
                g11 += w[c, 1] * w[c, 1];
            }
            for (var k = 0; k < n; k++)
            {
                double r = v[k * 3], g = v[(k * 3) + 1], b = v[(k * 3) + 2];
                var wv0 = (w[0, 0] * r) + (w[1, 0] * g) + (w[2, 0] * b);
                var wv1 = (w[0, 1] * r) + (w[1, 1] * g) + (w[2, 1] * b);
                double c0 = hc[k], c1 = hc[n + k];
                hc[k] = c0 * wv0 / ((g00 * c0) + (g01 * c1) + lambda + Eps);
                hc[n + k] = c1 * wv1 / ((g01 * c0) + (g11 * c1) + lambda + Eps);
            }
            // W ← W ⊙ (V Hᵀ) / (W H Hᵀ)
            double hh00 = 0, hh01 = 0, hh11 = 0;
            var vh = new double[3, 2];
            for (var k = 0; k < n; k++)
            {
                double c0 = hc[k], c1 = hc[n + k];
                hh00 += c0 * c0;
                hh01 += c0 * c1;
                hh11 += c1 * c1;
                for (var c = 0; c < 3; c++)
                {
                    vh[c, 0] += v[(k * 3) + c] * c0;
                    vh[c, 1] += v[(k * 3) + c] * c1;
                }
            }
            for (var c = 0; c < 3; c++)
            {
                var d0 = (w[c, 0] * hh00) + (w[c, 1] * hh01) + Eps;
                var d1 = (w[c, 0] * hh01) + (w[c, 1] * hh11) + Eps;
                w[c, 0] *= vh[c, 0] / d0;
                w[c, 1] *= vh[c, 1] / d1;
            }
            NormaliseColumns(w, hc, n);
        }
        double[] h = [w[0, 0], w[1, 0], w[2, 0]];
        double[] e = [w[0, 1], w[1, 1], w[2, 1]];
        return h[0] > e[0] ? (h, e) : (e, h);
    }

    /// <summary>Scales W's columns to unit length and H's rows by the inverse, so W·H is unchanged.</summary>
    private static void NormaliseColumns(double[,] w, double[]? h, int n)
    {
        for (var s = 0; s < 2; s++)
        {
            var norm = Math.Sqrt((w[0, s] * w[0, s]) + (w[1, s] * w[1, s]) + (w[2, s] * w[2, s]));
            if (!(norm > 1e-12))
            {
                throw new StainException("vahadane: a stain vector vanished during the factorisation");
            }
            for (var c = 0; c < 3; c++)
            {
                w[c, s] /= norm;
            }
            if (h is not null)
            {
                for (var k = 0; k < n; k++)
                {
                    h[(s * n) + k] *= norm;
                }
            }
        }
    }

    private static double[] Normalise(double[] v)
    {
        var norm = Math.Sqrt((v[0] * v[0]) + (v[1] * v[1]) + (v[2] * v[2]));
        return [v[0] / norm, v[1] / norm, v[2] / norm];
    }
}
