namespace Histoscale.Synthesis.Models;

/// <summary>
/// Ruifrok &amp; Johnston colour deconvolution (Anal Quant Cytol Histol 2001) with their H&amp;E-DAB stain vectors.
/// <para>Exact formulas used by the demo models, so tests can recompute them independently:</para>
/// <list type="number">
/// <item>optical density per channel: <c>OD_c = −ln((I_c + 1) / 256) / ln 10</c> = −log10((I+1)/256), I on 0–255;</item>
/// <item>each stain vector (row of <see cref="Rgb"/>) is scaled to unit length, giving matrix M (rows H, E, DAB);</item>
/// <item>stain concentrations: <c>C = OD · M⁻¹</c> (OD as a row vector), i.e. <c>C_s = Σ_c OD_c · M⁻¹[c, s]</c>.</item>
/// </list>
/// </summary>
public static class StainVectors
{
    /// <summary>Rows: hematoxylin, eosin, DAB; columns R, G, B (as published, before normalisation).</summary>
    public static readonly double[,] Rgb =
    {
        { 0.650, 0.704, 0.286 },
        { 0.072, 0.990, 0.105 },
        { 0.268, 0.570, 0.776 },
    };

    /// <summary>Row/column index of hematoxylin.</summary>
    public const int Hematoxylin = 0;
    /// <summary>Row/column index of eosin.</summary>
    public const int Eosin = 1;
    /// <summary>Row/column index of DAB.</summary>
    public const int Dab = 2;

    /// <summary>M⁻¹ of the unit-normalised stain matrix: column s gives the weights of OD_R, OD_G, OD_B for stain s.</summary>
    public static double[,] Deconvolution()
    {
        var m = new double[3, 3];
        for (var r = 0; r < 3; r++)
        {
            var norm = Math.Sqrt((Rgb[r, 0] * Rgb[r, 0]) + (Rgb[r, 1] * Rgb[r, 1]) + (Rgb[r, 2] * Rgb[r, 2]));
            for (var c = 0; c < 3; c++)
            {
                m[r, c] = Rgb[r, c] / norm;
            }
        }
        return Invert3(m);
    }

    private static double[,] Invert3(double[,] m)
    {
        // Adjugate / determinant; the stain matrix is well conditioned.
        double a = m[0, 0], b = m[0, 1], c = m[0, 2], d = m[1, 0], e = m[1, 1], f = m[1, 2], g = m[2, 0], h = m[2, 1], i = m[2, 2];
        var det = (a * ((e * i) - (f * h))) - (b * ((d * i) - (f * g))) + (c * ((d * h) - (e * g)));
        return new[,]
        {
            { ((e * i) - (f * h)) / det, ((c * h) - (b * i)) / det, ((b * f) - (c * e)) / det },
            { ((f * g) - (d * i)) / det, ((a * i) - (c * g)) / det, ((c * d) - (a * f)) / det },
            { ((d * h) - (e * g)) / det, ((b * g) - (a * h)) / det, ((a * e) - (b * d)) / det },
        };
    }
}
