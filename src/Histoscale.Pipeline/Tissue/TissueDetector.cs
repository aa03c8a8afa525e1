using Histoscale.Slides;

namespace Histoscale.Pipeline.Tissue;

/// <summary>How tissue is told from glass.</summary>
public sealed record TissueOptions
{
    /// <summary>Longest side of the thumbnail the mask is computed on.</summary>
    public int ThumbnailSize { get; init; } = 2048;

    /// <summary>
    /// Bounds on Otsu's saturation threshold (0–255 scale). The lower bound keeps faintly tinted glass out when a
    /// slide is mostly glass; the upper one keeps pale tissue in when a slide is mostly tissue (Otsu then splits
    /// tissue from tissue).
    /// </summary>
    public int MinThreshold { get; init; } = 10;

    /// <summary>Upper bound on the saturation threshold (0–255); see <see cref="MinThreshold"/>.</summary>
    public int MaxThreshold { get; init; } = 40;

    /// <summary>Closing radius in mask pixels: joins tissue fragments, fills small holes.</summary>
    public int CloseRadius { get; init; } = 2;

    /// <summary>Opening radius in mask pixels: removes dust and specks.</summary>
    public int OpenRadius { get; init; } = 2;
}

/// <summary>
/// Finds tissue on a low-resolution thumbnail: HSV saturation per pixel (stained tissue is coloured, glass is
/// grey-white), Otsu's threshold on its histogram (clamped, see <see cref="TissueOptions"/>), then closing and
/// opening. Transparent pixels (outside the scanned area) are background.
/// </summary>
public static class TissueDetector
{
    /// <summary>Computes the tissue mask of <paramref name="slide"/> from a thumbnail whose longest side is near <see cref="TissueOptions.ThumbnailSize"/> (between half and twice it, matched to a pyramid level so it reads cheaply).</summary>
    public static TissueMask Detect(Slide slide, TissueOptions? options = null)
    {
        options ??= new TissueOptions();
        var thumb = slide.GetThumbnail(ThumbnailSize(slide, options.ThumbnailSize));
        var (mask, _) = Segment(thumb.Pixels, thumb.Width, thumb.Height, options);
        return new TissueMask(mask, thumb.Width, thumb.Height, (double)slide.Width / thumb.Width, (double)slide.Height / thumb.Height);
    }

    /// <summary>
    /// The longer side of the smallest pyramid level that still has at least half the wanted size: the thumbnail
    /// then comes straight from that level (a few megapixels to decode) instead of being averaged down from a
    /// much larger one. Capped at <paramref name="wanted"/> when no level is that small.
    /// </summary>
    private static int ThumbnailSize(Slide slide, int wanted)
    {
        var best = wanted;
        for (var i = slide.Levels.Count - 1; i >= 0; i--)
        {
            var side = Math.Max(slide.Levels[i].Width, slide.Levels[i].Height);
            if (side >= wanted / 2)
            {
                best = (int)Math.Min(side, wanted * 2L);
                break;
            }
        }
        return best;
    }

    /// <summary>Segments an RGBA image; returns the mask (1 = tissue) and the saturation threshold used.</summary>
    public static (byte[] Mask, int Threshold) Segment(ReadOnlySpan<byte> rgba, int width, int height, TissueOptions options)
    {
        var n = width * height;
        var saturation = new byte[n];
        Span<long> histogram = stackalloc long[256];
        histogram.Clear();
        for (var i = 0; i < n; i++)
        {
            var p = rgba.Slice(i * 4, 4);
            if (p[3] == 0)
            {
                continue; // outside the image: stays 0, not counted
            }
            int r = p[0], g = p[1], b = p[2];
            var max = Math.Max(r, Math.Max(g, b));
            var min = Math.Min(r, Math.Min(g, b));
            var s = max == 0 ? 0 : ((max - min) * 255) / max;
            saturation[i] = (byte)s;
            histogram[s]++;
        }
        var threshold = Math.Clamp(Otsu.Threshold(histogram), options.MinThreshold, options.MaxThreshold);
        var mask = new byte[n];
        for (var i = 0; i < n; i++)
        {
            mask[i] = saturation[i] >= threshold ? (byte)1 : (byte)0;
        }
        BinaryMorphology.Close(mask, width, height, options.CloseRadius);
        BinaryMorphology.Open(mask, width, height, options.OpenRadius);
        return (mask, threshold);
    }
}
