namespace Histoscale.Pipeline.Quality;

/// <summary>
/// Stain and exposure of a slide's tissue, measured on its low-resolution image (ink and folds left out). Its own
/// type so stain estimation (e.g. a stain matrix for normalisation) can add to it without touching the artifact
/// detectors.
/// </summary>
/// <param name="DarkFraction">Tissue whose luminance is below <see cref="QualityOptions.DarkLuminance"/>: over-staining or under-exposure.</param>
/// <param name="BrightFraction">Tissue whose luminance is above <see cref="QualityOptions.BrightLuminance"/>: under-staining or over-exposure.</param>
/// <param name="Brightness">Mean tissue luminance, 0 (black) to 1 (white).</param>
/// <param name="Contrast">Standard deviation of tissue luminance (RMS contrast), 0–0.5.</param>
public sealed record StainMeasures(double DarkFraction, double BrightFraction, double Brightness, double Contrast)
{
    /// <summary>No tissue: nothing measured.</summary>
    public static StainMeasures None { get; } = new(0, 0, 0, 0);
}
