namespace Histoscale.Stain;

/// <summary>How stain parameters are estimated and where normalisation leaves pixels alone.</summary>
public sealed record StainOptions
{
    /// <summary>
    /// Macenko's β: pixels with an optical density below this in any channel (natural log, I₀ = 255) are left out
    /// of the stain-vector fit (Macenko, Vahadane).
    /// </summary>
    public double OdThreshold { get; init; } = 0.15;

    /// <summary>Macenko's α: the robust extremes of the angle distribution are its α and 100 − α percentiles.</summary>
    public double AnglePercentile { get; init; } = 1;

    /// <summary>Percentile of each stain's concentration taken as its maximum (Macenko, Vahadane).</summary>
    public double ConcentrationPercentile { get; init; } = 99;

    /// <summary>
    /// Glass: a pixel whose optical density is below this in every channel (every channel brighter than
    /// 255·e^−β) is left as it is by normalisation. 0 normalises every opaque pixel.
    /// </summary>
    public double BackgroundOd { get; init; } = 0.15;

    /// <summary>At most this many tissue pixels are used for a fit (an even, deterministic subsample beyond it).</summary>
    public int MaxPixels { get; init; } = 250_000;

    /// <summary>
    /// Vahadane: the L1 weight on the concentrations (sparsity), for the objective ½‖OD − WH‖² + λ‖H‖₁. The paper's
    /// 0.1 made the hematoxylin vector collapse onto red on tissue where every pixel carries some of both stains (our
    /// synthesized slides), so the default is milder.
    /// </summary>
    public double SparsityLambda { get; init; } = 0.01;

    /// <summary>Vahadane: multiplicative-update iterations of the factorisation.</summary>
    public int Iterations { get; init; } = 100;

    /// <summary>Vahadane: at most this many pixels go into the factorisation (an even subsample of the fit's pixels).</summary>
    public int FactorisationPixels { get; init; } = 50_000;

    /// <summary>Throws <see cref="StainException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (!(OdThreshold >= 0 && OdThreshold < 5))
        {
            throw new StainException($"OD threshold {OdThreshold} must be in [0, 5)");
        }
        if (!(AnglePercentile >= 0 && AnglePercentile < 50))
        {
            throw new StainException($"angle percentile {AnglePercentile} must be in [0, 50)");
        }
        if (!(ConcentrationPercentile > 0 && ConcentrationPercentile <= 100))
        {
            throw new StainException($"concentration percentile {ConcentrationPercentile} must be in (0, 100]");
        }
        if (!(BackgroundOd >= 0 && BackgroundOd < 5))
        {
            throw new StainException($"background OD {BackgroundOd} must be in [0, 5)");
        }
        if (MaxPixels < 100 || FactorisationPixels < 100 || Iterations < 1 || !(SparsityLambda >= 0))
        {
            throw new StainException("max pixels and factorisation pixels must be at least 100, iterations at least 1, sparsity non-negative");
        }
    }
}
