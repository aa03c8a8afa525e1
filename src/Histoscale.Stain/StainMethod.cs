namespace Histoscale.Stain;

/// <summary>How a slide's stain is described and normalised.</summary>
public enum StainMethod
{
    /// <summary>
    /// Macenko et al. 2009: two unit stain vectors in optical density (hematoxylin, eosin) from the angle
    /// percentiles in the plane of the two largest eigenvectors of the OD covariance, plus each stain's 99th
    /// percentile concentration.
    /// </summary>
    Macenko,

    /// <summary>Reinhard et al. 2001: mean and standard deviation of each channel of Ruderman's lαβ colour space.</summary>
    Reinhard,

    /// <summary>
    /// Vahadane et al. 2016: stain vectors from a sparse non-negative factorisation of the tissue's optical density
    /// (here multiplicative updates with an L1 penalty on the concentrations), plus 99th percentile concentrations.
    /// </summary>
    Vahadane,
}

/// <summary>The names <see cref="StainMethod"/> goes by in flags and JSON.</summary>
public static class StainMethods
{
    /// <summary>The lower-case name: macenko, reinhard or vahadane.</summary>
    public static string Name(this StainMethod method) => method switch
    {
        StainMethod.Macenko => "macenko",
        StainMethod.Reinhard => "reinhard",
        StainMethod.Vahadane => "vahadane",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Parses macenko, reinhard or vahadane (any case).</summary>
    /// <exception cref="StainException">Any other text; the message names it and the choices.</exception>
    public static StainMethod Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "macenko" => StainMethod.Macenko,
        "reinhard" => StainMethod.Reinhard,
        "vahadane" => StainMethod.Vahadane,
        _ => throw new StainException($"stain method '{text}' is not one of macenko, reinhard, vahadane"),
    };
}
