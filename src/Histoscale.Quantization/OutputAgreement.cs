namespace Histoscale.Quantization;

/// <summary>
/// How closely a candidate model's outputs follow a reference's over many tiles: per tile cosine similarity of the
/// output vectors, mean absolute error, and whether the arg-max (top-1 class) agrees. Measures agreement, not
/// accuracy: without labels it cannot say which of the two is right.
/// </summary>
public sealed class OutputAgreement
{
    private double _cosineSum;
    private double _absErrorSum;
    private double _referenceAbsSum;
    private long _values;
    private int _top1;

    /// <summary>Tiles compared so far.</summary>
    public int Tiles { get; private set; }

    /// <summary>Lowest per-tile cosine similarity seen (1 before any tile).</summary>
    public double MinCosine { get; private set; } = 1;

    /// <summary>Mean per-tile cosine similarity of the output vectors (0 before any tile).</summary>
    public double MeanCosine => Tiles == 0 ? 0 : _cosineSum / Tiles;

    /// <summary>Mean absolute difference per output value.</summary>
    public double MeanAbsError => _values == 0 ? 0 : _absErrorSum / _values;

    /// <summary>Mean |reference| over the same values, to read <see cref="MeanAbsError"/> against.</summary>
    public double MeanAbsReference => _values == 0 ? 0 : _referenceAbsSum / _values;

    /// <summary>Share of tiles (0–1) whose arg-max output is the same in both models.</summary>
    public double Top1Agreement => Tiles == 0 ? 0 : (double)_top1 / Tiles;

    /// <summary>Adds <paramref name="tiles"/> tiles whose outputs lie tile-major in both spans.</summary>
    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, int tiles)
    {
        if (reference.Length != candidate.Length || tiles <= 0 || reference.Length % tiles != 0)
        {
            throw new ArgumentException($"outputs differ in size ({reference.Length} vs {candidate.Length} values for {tiles} tiles)");
        }
        var per = reference.Length / tiles;
        for (var t = 0; t < tiles; t++)
        {
            var r = reference.Slice(t * per, per);
            var c = candidate.Slice(t * per, per);
            double dot = 0, rr = 0, cc = 0;
            int rArg = 0, cArg = 0;
            for (var i = 0; i < per; i++)
            {
                dot += (double)r[i] * c[i];
                rr += (double)r[i] * r[i];
                cc += (double)c[i] * c[i];
                _absErrorSum += Math.Abs(r[i] - c[i]);
                _referenceAbsSum += Math.Abs(r[i]);
                if (r[i] > r[rArg])
                {
                    rArg = i;
                }
                if (c[i] > c[cArg])
                {
                    cArg = i;
                }
            }
            // Two all-zero outputs agree perfectly; one zero and one not do not at all.
            var cosine = rr == 0 && cc == 0 ? 1 : rr == 0 || cc == 0 ? 0 : dot / Math.Sqrt(rr * cc);
            _cosineSum += cosine;
            MinCosine = Math.Min(MinCosine, cosine);
            _top1 += rArg == cArg ? 1 : 0;
            _values += per;
            Tiles++;
        }
    }
}
