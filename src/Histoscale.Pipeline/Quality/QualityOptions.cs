using System.Globalization;
using Histoscale.Pipeline.Tissue;

namespace Histoscale.Pipeline.Quality;

/// <summary>
/// How slide quality is measured and judged (docs/qc.md). Every threshold is a property so a host can expose it; the
/// defaults were chosen on synthesized H&amp;E slides with known artifacts and clean twins.
/// </summary>
public sealed record QualityOptions
{
    /// <summary>µm per pixel of the masks and of the low-resolution image pen, fold and stain are measured on.</summary>
    public double MaskMpp { get; init; } = 8;

    /// <summary>µm per level-0 pixel assumed for a slide that gives none.</summary>
    public double AssumedSlideMpp { get; init; } = 0.25;

    /// <summary>How tissue is told from glass (the same detector as inference uses).</summary>
    public TissueOptions Tissue { get; init; } = new();

    /// <summary>Ink: HSV saturation at least this (0–1) with a hue outside H&amp;E's pink–purple range.</summary>
    public double PenMinSaturation { get; init; } = 0.25;

    /// <summary>Ink hues (degrees): green, cyan and blue markers lie from <see cref="PenHueMin"/> to <see cref="PenHueMax"/>; H&amp;E lies above.</summary>
    public double PenHueMin { get; init; } = 65;

    /// <summary>Upper end of the ink hue range (degrees); haematoxylin's blue-purple starts just above.</summary>
    public double PenHueMax { get; init; } = 245;

    /// <summary>Black ink: brightest channel below this (0–255) and saturation below <see cref="BlackMaxSaturation"/>.</summary>
    public int BlackMaxValue { get; init; } = 70;

    /// <summary>Black ink is grey: saturation below this (0–1); dense stain is dark but saturated.</summary>
    public double BlackMaxSaturation { get; init; } = 0.4;

    /// <summary>A fold: optical density (sum over R, G, B) at least this multiple of the slide's median tissue density.</summary>
    public double FoldDensityRatio { get; init; } = 1.6;

    /// <summary>Stain/exposure: tissue luminance (0–1) below this counts as dark (over-stained or under-exposed).</summary>
    public double DarkLuminance { get; init; } = 0.3;

    /// <summary>Stain/exposure: tissue luminance (0–1) above this counts as bright (under-stained or over-exposed).</summary>
    public double BrightLuminance { get; init; } = 0.9;

    /// <summary>Blur: at most this many full-resolution tiles are read per slide (neighbouring tiles then share one sample).</summary>
    public int MaxFocusSamples { get; init; } = 2000;

    /// <summary>Blur: a tile is out of focus when its focus is below this fraction of the slide's sharp reference (90th percentile).</summary>
    public double BlurRelative { get; init; } = 0.35;

    /// <summary>Blur: a tile is out of focus when its focus (Laplacian variance over intensity variance) is below this, whatever the slide.</summary>
    public double BlurAbsolute { get; init; } = 0.05;

    /// <summary>Blur: only tiles at least this much tissue are sampled.</summary>
    public double FocusMinTissue { get; init; } = 0.5;

    /// <summary>
    /// Corrupt tiles of the mask image allowed before the slide fails (as <c>--max-bad-tiles</c> N); null = use
    /// <see cref="MaxBadTileFraction"/>. A corrupt tile within the allowance is background and reported.
    /// </summary>
    public int? MaxBadTiles { get; init; }

    /// <summary>Corrupt mask-image tiles allowed as a fraction of those read (as <c>--max-bad-tiles</c> P%), when <see cref="MaxBadTiles"/> is null.</summary>
    public double MaxBadTileFraction { get; init; } = 0.01;

    /// <summary>Threads reading and measuring; null = one per core.</summary>
    public int? Parallelism { get; init; }

    /// <summary>Usable only with at least this tissue fraction of the slide.</summary>
    public double MinTissueFraction { get; init; } = 0.01;

    /// <summary>Usable only with at most this blurred fraction of tissue.</summary>
    public double MaxBlurFraction { get; init; } = 0.1;

    /// <summary>Usable only with at most this inked fraction of tissue.</summary>
    public double MaxPenFraction { get; init; } = 0.05;

    /// <summary>Usable only with at most this folded fraction of tissue.</summary>
    public double MaxFoldFraction { get; init; } = 0.05;

    /// <summary>Usable only with at most this dark fraction of tissue.</summary>
    public double MaxDarkFraction { get; init; } = 0.25;

    /// <summary>Usable only with at most this bright fraction of tissue.</summary>
    public double MaxBrightFraction { get; init; } = 0.25;

    /// <summary>With inference: a tile is excluded when at least this fraction of its footprint is one artifact.</summary>
    public double ExcludeTileFraction { get; init; } = 0.25;

    /// <summary>Throws <see cref="PipelineConfigException"/> naming the first bad value.</summary>
    public void Validate()
    {
        static void Fraction(double v, string name)
        {
            if (!(v >= 0 && v <= 1))
            {
                throw new PipelineConfigException($"{name} {v.ToString(CultureInfo.InvariantCulture)} must be between 0 and 1");
            }
        }
        if (!(MaskMpp > 0) || double.IsInfinity(MaskMpp))
        {
            throw new PipelineConfigException($"mask resolution {MaskMpp.ToString(CultureInfo.InvariantCulture)} µm/px must be a positive number");
        }
        if (!(AssumedSlideMpp > 0))
        {
            throw new PipelineConfigException("assumed slide resolution must be positive");
        }
        if (MaxFocusSamples < 1)
        {
            throw new PipelineConfigException("focus samples must be at least 1");
        }
        if (Parallelism is < 1)
        {
            throw new PipelineConfigException("parallelism must be at least 1");
        }
        if (!(FoldDensityRatio > 1))
        {
            throw new PipelineConfigException("fold density ratio must be above 1");
        }
        Fraction(PenMinSaturation, "pen saturation");
        Fraction(BlackMaxSaturation, "black ink saturation");
        Fraction(DarkLuminance, "dark luminance");
        Fraction(BrightLuminance, "bright luminance");
        Fraction(BlurRelative, "blur relative threshold");
        Fraction(FocusMinTissue, "focus tissue fraction");
        Fraction(MinTissueFraction, "minimum tissue fraction");
        Fraction(MaxBlurFraction, "maximum blur fraction");
        Fraction(MaxPenFraction, "maximum pen fraction");
        Fraction(MaxFoldFraction, "maximum fold fraction");
        Fraction(MaxDarkFraction, "maximum dark fraction");
        Fraction(MaxBrightFraction, "maximum bright fraction");
        Fraction(ExcludeTileFraction, "tile exclusion fraction");
        if (!(BlurAbsolute >= 0))
        {
            throw new PipelineConfigException("blur absolute threshold must be 0 or more");
        }
    }

    /// <summary>Every setting that changes a result, as one invariant string (part of an inference run's settings key).</summary>
    public string Key() => string.Join('|', new object[]
    {
        MaskMpp, AssumedSlideMpp, Tissue, PenMinSaturation, PenHueMin, PenHueMax, BlackMaxValue, BlackMaxSaturation, FoldDensityRatio,
        DarkLuminance, BrightLuminance, MaxFocusSamples, BlurRelative, BlurAbsolute, FocusMinTissue, ExcludeTileFraction,
    }.Select(InvariantText.Of));
}
