using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;
using Histoscale.Stain;

namespace Histoscale.Pipeline.Staining;

/// <summary>
/// Stain normalisation of a run (<c>infer --stain-normalize</c>): every slide's own stain parameters are estimated
/// once from its tissue at low resolution, and each tile is mapped onto <see cref="Target"/> just before it is
/// packed into the batch tensor.
/// </summary>
public sealed record StainNormalization
{
    /// <summary>The parameters tiles are normalised to; its method is the run's.</summary>
    public required StainParameters Target { get; init; }

    /// <summary>Where the target came from (a target.json path or a slide), for run.json.</summary>
    public string? TargetSource { get; init; }

    /// <summary>How each slide's parameters are estimated and which pixels are glass.</summary>
    public StainOptions Options { get; init; } = new();

    /// <summary>The method: the target's.</summary>
    public StainMethod Method => Target.Method;

    /// <summary>
    /// A normalisation onto the target in <paramref name="targetJson"/> (a target.json document, as
    /// <see cref="StainParameters.ToJson"/> writes it; its method is the run's), e.g. one a slide job carries.
    /// </summary>
    /// <param name="targetJson">The target document.</param>
    /// <param name="source">Names the document in errors.</param>
    /// <param name="targetSource">Where the target came from (a target.json path or a slide), for run.json.</param>
    /// <exception cref="PipelineConfigException">Not a valid stain target (the message names what is wrong).</exception>
    public static StainNormalization FromTargetJson(string targetJson, string source, string? targetSource = null)
    {
        try
        {
            return new StainNormalization { Target = StainParameters.Parse(targetJson, source), TargetSource = targetSource };
        }
        catch (StainException ex)
        {
            throw new PipelineConfigException(ex.Message, ex);
        }
    }

    /// <summary>What changes outputs, for settings keys: the method, the target's numbers and the options.</summary>
    public string Key => $"stain:{InvariantText.Of(Target)}|{InvariantText.Of(Options)}";
}

/// <summary>Stain estimation on a whole slide: its tissue, found by <see cref="TissueDetector"/>, at the detector's low resolution.</summary>
public static class SlideStain
{
    /// <summary>
    /// Fits <paramref name="method"/> on the tissue pixels of the slide's tissue-detection image (a pyramid level of
    /// about <see cref="TissueOptions.ThumbnailSize"/> pixels a side: nothing of a detailed level is read).
    /// </summary>
    /// <exception cref="StainException">Too little stained tissue to fit.</exception>
    /// <exception cref="SlideException">The slide cannot be read.</exception>
    public static StainParameters Fit(Slide slide, StainMethod method, TissueOptions? tissue = null, StainOptions? options = null)
    {
        var (mask, image) = TissueDetector.DetectWithImage(slide, tissue);
        return Fit(image, mask, method, options, slide.Source);
    }

    /// <summary>Fits on an already computed detection image and its mask (the pipeline's prepare step has both).</summary>
    internal static StainParameters Fit(RgbaImage image, TissueMask mask, StainMethod method, StainOptions? options, string slideName)
    {
        try
        {
            var tissue = mask.Mask.AsSpan(0, image.Width * image.Height);
            if (mask.Unknown is { } unknown)
            {
                // Unknown areas (corrupt detection tiles) count as tissue for planning, but have no pixels to fit on.
                var known = tissue.ToArray();
                for (var i = 0; i < known.Length; i++)
                {
                    known[i] = unknown[i] != 0 ? (byte)0 : known[i];
                }
                return StainFitter.Fit(method, image.Pixels, known, options);
            }
            return StainFitter.Fit(method, image.Pixels, tissue, options);
        }
        catch (StainException ex)
        {
            throw new StainException($"{slideName}: {ex.Message}", ex);
        }
    }
}
