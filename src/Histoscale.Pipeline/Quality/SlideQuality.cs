using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Quality;

/// <summary>An artifact quality control looks for.</summary>
public enum QualityArtifact
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Out of focus.</summary>
    Blur = 1,

    /// <summary>Marker ink.</summary>
    Pen = 2,

    /// <summary>Folded (overlapping) tissue.</summary>
    Fold = 3,
}

/// <summary>
/// What <see cref="QualityControl.Assess"/> found on a slide: the measures, the verdict and the masks (one byte per
/// mask pixel, 255 = artifact, row-major, <see cref="MaskWidth"/> × <see cref="MaskHeight"/> covering the slide's
/// level-0 extent).
/// </summary>
public sealed class SlideQuality
{
    private TissueMask? _blurIndex;
    private TissueMask? _penIndex;
    private TissueMask? _foldIndex;

    internal SlideQuality(long slideWidth, long slideHeight, double maskMpp, bool mppAssumed, RgbaImage image, byte[] tissue, byte[] blur, byte[] pen, byte[] fold,
        double tissueFraction, double blurFraction, double penFraction, double foldFraction, StainMeasures stain, int focusSamples, IReadOnlyList<string> flags)
    {
        SlideWidth = slideWidth;
        SlideHeight = slideHeight;
        MaskMpp = maskMpp;
        MppAssumed = mppAssumed;
        Image = image;
        TissueMask = tissue;
        BlurMask = blur;
        PenMask = pen;
        FoldMask = fold;
        TissueFraction = tissueFraction;
        BlurFraction = blurFraction;
        PenFraction = penFraction;
        FoldFraction = foldFraction;
        Stain = stain;
        FocusSamples = focusSamples;
        Flags = flags;
    }

    /// <summary>Level-0 width of the slide.</summary>
    public long SlideWidth { get; }

    /// <summary>Level-0 height of the slide.</summary>
    public long SlideHeight { get; }

    /// <summary>µm per mask pixel (the requested resolution, up to rounding of the mask's size to whole pixels).</summary>
    public double MaskMpp { get; }

    /// <summary>Whether the slide gave no resolution and <see cref="QualityOptions.AssumedSlideMpp"/> was used.</summary>
    public bool MppAssumed { get; }

    /// <summary>Mask width in pixels.</summary>
    public int MaskWidth => Image.Width;

    /// <summary>Mask height in pixels.</summary>
    public int MaskHeight => Image.Height;

    /// <summary>The low-resolution RGBA image everything but focus was measured on (mask-sized).</summary>
    public RgbaImage Image { get; }

    /// <summary>Tissue (ink included), 255 = tissue.</summary>
    public byte[] TissueMask { get; }

    /// <summary>Out-of-focus tissue, 255 = blurred (painted per sampled full-resolution tile).</summary>
    public byte[] BlurMask { get; }

    /// <summary>Marker ink, 255 = ink.</summary>
    public byte[] PenMask { get; }

    /// <summary>Folded tissue, 255 = fold.</summary>
    public byte[] FoldMask { get; }

    /// <summary>Tissue (ink excluded) as a fraction of the slide.</summary>
    public double TissueFraction { get; }

    /// <summary>Blurred tissue as a fraction of the tissue area (ink included).</summary>
    public double BlurFraction { get; }

    /// <summary>Ink as a fraction of the tissue area (ink included).</summary>
    public double PenFraction { get; }

    /// <summary>Folds as a fraction of the tissue area (ink included).</summary>
    public double FoldFraction { get; }

    /// <summary>Stain and exposure measures of the tissue.</summary>
    public StainMeasures Stain { get; }

    /// <summary>Full-resolution tiles read to measure focus.</summary>
    public int FocusSamples { get; }

    /// <summary>The thresholds that tripped: tissue, blur, pen, fold, dark, bright; empty when usable.</summary>
    public IReadOnlyList<string> Flags { get; }

    /// <summary>Tiles of the mask image whose data was corrupt (left as background; within the allowed bad tiles).</summary>
    public int UnreadableTiles { get; init; }

    /// <summary>The first of those tiles' errors, in tile order (each names the file, level and tile).</summary>
    public IReadOnlyList<string> UnreadableCauses { get; init; } = [];

    /// <summary>Full-resolution focus samples whose data was corrupt: left out of the focus measure (within the allowed bad tiles).</summary>
    public int FocusUnreadableTiles { get; init; }

    /// <summary>The first of those samples' errors (each names the file, level and tile).</summary>
    public IReadOnlyList<string> FocusUnreadableCauses { get; init; } = [];

    /// <summary>Whether no threshold tripped.</summary>
    public bool Usable => Flags.Count == 0;

    /// <summary>
    /// The artifact covering the largest part of a level-0 rectangle, when that part is at least
    /// <paramref name="minFraction"/> of it; else <see cref="QualityArtifact.None"/>.
    /// </summary>
    public QualityArtifact ArtifactOver(Footprint footprint, double minFraction)
    {
        var sx = (double)SlideWidth / MaskWidth;
        var sy = (double)SlideHeight / MaskHeight;
        _penIndex ??= new TissueMask(PenMask, MaskWidth, MaskHeight, sx, sy);
        _foldIndex ??= new TissueMask(FoldMask, MaskWidth, MaskHeight, sx, sy);
        _blurIndex ??= new TissueMask(BlurMask, MaskWidth, MaskHeight, sx, sy);
        var best = QualityArtifact.None;
        var bestFraction = 0.0;
        foreach (var (kind, index) in new[] { (QualityArtifact.Pen, _penIndex), (QualityArtifact.Fold, _foldIndex), (QualityArtifact.Blur, _blurIndex) })
        {
            var f = index.Fraction(footprint.X, footprint.Y, footprint.Width, footprint.Height);
            if (f > bestFraction)
            {
                (best, bestFraction) = (kind, f);
            }
        }
        return bestFraction > 0 && bestFraction >= minFraction ? best : QualityArtifact.None;
    }
}
