using System.Runtime.CompilerServices;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Quality;

/// <summary>
/// Slide quality control (docs/qc.md). Pen, folds, stain and exposure are measured on one low-resolution image at
/// <see cref="QualityOptions.MaskMpp"/> (read like the tissue detector's: a matching pyramid level's tiles in
/// parallel), tissue with the same detector inference uses; focus on sparse full-resolution tiles
/// (<see cref="FocusSampler"/>). Memory is the mask-sized image and masks plus one tile per thread, whatever the
/// slide's size.
/// </summary>
public static class QualityControl
{
    /// <summary>Longest mask side accepted (a finer <see cref="QualityOptions.MaskMpp"/> on a large slide is refused).</summary>
    public const int MaxMaskSide = 16384;

    /// <summary>Measures <paramref name="slide"/>.</summary>
    /// <exception cref="PipelineConfigException">Invalid options, or a mask resolution that would exceed <see cref="MaxMaskSide"/>.</exception>
    /// <exception cref="SlideException">The slide's pixels could not be read.</exception>
    public static SlideQuality Assess(Slide slide, QualityOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(slide);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var parallelism = options.Parallelism ?? Environment.ProcessorCount;
        var mppAssumed = slide.MppX is not > 0;
        var mpp = slide.MppX is > 0 and var m ? m : options.AssumedSlideMpp;
        var longest = Math.Max(slide.Width, slide.Height);
        var side = Math.Clamp(Math.Round(longest * mpp / options.MaskMpp), 1, longest);
        if (side > MaxMaskSide)
        {
            throw new PipelineConfigException($"{slide.Source}: a mask at {options.MaskMpp} µm/px would be {side} pixels long (at most {MaxMaskSide}); choose a coarser mask resolution");
        }
        var unreadable = new System.Collections.Concurrent.ConcurrentQueue<(long Index, SlideException Error)>();
        var image = TissueDetector.DetectionImage(slide, (int)side, parallelism, unreadable, out var imageTiles);
        // Corrupt tiles are background (as tissue detection leaves them); beyond the allowance the slide fails.
        var causes = unreadable.OrderBy(u => u.Index).Take(MaxCausesReported).Select(u => u.Error.Message).ToArray();
        var allowed = options.MaxBadTiles ?? (int)Math.Floor(options.MaxBadTileFraction * Math.Min(int.MaxValue, imageTiles));
        if (unreadable.Count > allowed)
        {
            throw new SlideException(slide.Source, $"quality control: {unreadable.Count} of {imageTiles} mask-level tiles could not be read, more than --max-bad-tiles allows ({allowed})"
                + (causes.Length > 0 ? $"; first: {causes[0]}" : ""));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var (w, h) = (image.Width, image.Height);
        var n = w * h;
        var (tissue, _) = TissueDetector.Segment(image.Pixels, w, h, options.Tissue, parallelism);

        var pen = new byte[n];
        var density = new float[n];
        var luminance = new byte[n];
        Classify(image.Pixels, pen, density, luminance, w, h, options, parallelism);
        BinaryMorphology.Close(pen, w, h, 1, parallelism);
        BinaryMorphology.Open(pen, w, h, 1, parallelism);

        // The tissue area: what the detector found, plus ink (black ink is not coloured enough for it).
        var area = 0;
        var clean = new byte[n];
        for (var i = 0; i < n; i++)
        {
            var inArea = tissue[i] != 0 || pen[i] != 0;
            area += inArea ? 1 : 0;
            clean[i] = (byte)(inArea && pen[i] == 0 ? 1 : 0);
            tissue[i] = (byte)(inArea ? 1 : 0);
        }

        var fold = new byte[n];
        var median = MedianDensity(density, clean);
        // Ink's edges (ink mixed with tissue in a mask pixel) are dark too: folds are looked for away from ink.
        var nearInk = (byte[])pen.Clone();
        BinaryMorphology.Dilate(nearInk, w, h, InkMargin, parallelism);
        if (median > 0)
        {
            var limit = (float)(median * options.FoldDensityRatio);
            for (var i = 0; i < n; i++)
            {
                fold[i] = (byte)(clean[i] != 0 && nearInk[i] == 0 && density[i] >= limit ? 1 : 0);
            }
            // Folds are areas, dense nuclei are specks: an opening keeps only what is wider than 2·FoldOpening+1 pixels.
            BinaryMorphology.Open(fold, w, h, FoldOpening, parallelism);
            BinaryMorphology.Close(fold, w, h, 1, parallelism);
        }

        var stainArea = new byte[n];
        for (var i = 0; i < n; i++)
        {
            stainArea[i] = (byte)(clean[i] != 0 && fold[i] == 0 ? 1 : 0);
        }
        var stain = Stain(luminance, stainArea, options);
        cancellationToken.ThrowIfCancellationRequested();

        var blur = new byte[n];
        var focusUnreadable = new System.Collections.Concurrent.ConcurrentQueue<(long Index, SlideException Error)>();
        var samples = FocusSampler.Measure(slide, clean, w, h, blur, options, parallelism, cancellationToken, focusUnreadable);
        // Corrupt focus samples are left out of the focus measure (as infer leaves an unreadable tile out of its
        // maps), reported, and held to the same limit, of the samples read.
        var focusCauses = focusUnreadable.OrderBy(u => u.Index).Take(MaxCausesReported).Select(u => u.Error.Message).ToArray();
        // As a percentage, at least one: focus samples are few (a small biopsy has fewer than 100, where 1 % allows
        // none), so one corrupt sample does not fail QC of a slide whose tiles infer would run. A count is exact.
        var focusAllowed = options.MaxBadTiles ?? (options.MaxBadTileFraction > 0 ? Math.Max(1, (int)Math.Floor(options.MaxBadTileFraction * samples)) : 0);
        if (focusUnreadable.Count > focusAllowed)
        {
            throw new SlideException(slide.Source, $"quality control: {focusUnreadable.Count} of {samples} full-resolution focus tiles could not be read, more than --max-bad-tiles allows ({focusAllowed})"
                + (focusCauses.Length > 0 ? $"; first: {focusCauses[0]}" : ""));
        }
        int blurPixels = 0, penPixels = 0, foldPixels = 0, cleanPixels = 0;
        for (var i = 0; i < n; i++)
        {
            // Fold and ink mask what lies under them; blur is measured on the rest of the tissue.
            blur[i] = (byte)(blur[i] != 0 && clean[i] != 0 && fold[i] == 0 ? 255 : 0);
            pen[i] = (byte)(pen[i] != 0 ? 255 : 0);
            fold[i] = (byte)(fold[i] != 0 ? 255 : 0);
            tissue[i] = (byte)(tissue[i] != 0 ? 255 : 0);
            blurPixels += blur[i] & 1;
            penPixels += pen[i] & 1;
            foldPixels += fold[i] & 1;
            cleanPixels += clean[i];
        }
        double Of(int pixels) => area == 0 ? 0 : (double)pixels / area;
        var tissueFraction = (double)cleanPixels / n;
        var (blurF, penF, foldF) = (Of(blurPixels), Of(penPixels), Of(foldPixels));
        var flags = new List<string>();
        if (tissueFraction < options.MinTissueFraction)
        {
            flags.Add("tissue");
        }
        if (blurF > options.MaxBlurFraction)
        {
            flags.Add("blur");
        }
        if (penF > options.MaxPenFraction)
        {
            flags.Add("pen");
        }
        if (foldF > options.MaxFoldFraction)
        {
            flags.Add("fold");
        }
        if (stain.DarkFraction > options.MaxDarkFraction)
        {
            flags.Add("dark");
        }
        if (stain.BrightFraction > options.MaxBrightFraction)
        {
            flags.Add("bright");
        }
        var maskMpp = mpp * slide.Width / w;
        return new SlideQuality(slide.Width, slide.Height, maskMpp, mppAssumed, image, tissue, blur, pen, fold, tissueFraction, blurF, penF, foldF, stain, samples, flags)
        {
            UnreadableTiles = unreadable.Count,
            UnreadableCauses = causes,
            FocusUnreadableTiles = focusUnreadable.Count,
            FocusUnreadableCauses = focusCauses,
        };
    }

    /// <summary>Causes of unreadable mask-image tiles a result keeps (the first in tile order); the count covers them all.</summary>
    private const int MaxCausesReported = 5;

    /// <summary>Per pixel: ink (1/0), optical density summed over R, G, B, and luminance; row bands in parallel.</summary>
    private static void Classify(byte[] rgba, byte[] pen, float[] density, byte[] luminance, int width, int height, QualityOptions options, int parallelism)
    {
        var bands = Math.Clamp(Math.Min(parallelism * 4, height / 32), 1, Math.Max(1, height));
        var rows = (height + bands - 1) / bands;
        var od = DensityTable;
        Parallel.For(0, bands, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, b =>
        {
            var start = Math.Min(height, b * rows) * width;
            var end = Math.Min(height, (b + 1) * rows) * width;
            ClassifyRange(rgba, pen, density, luminance, start, end, options, od);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ClassifyRange(byte[] rgba, byte[] pen, float[] density, byte[] luminance, int start, int end, QualityOptions options, float[] od)
    {
        var minSat = (float)options.PenMinSaturation;
        var (hueMin, hueMax) = ((float)options.PenHueMin, (float)options.PenHueMax);
        var blackValue = options.BlackMaxValue;
        var blackSat = (float)options.BlackMaxSaturation;
        for (var i = start; i < end; i++)
        {
            var p = rgba.AsSpan(i * 4, 4);
            if (p[3] == 0)
            {
                continue; // outside the scanned area: glass
            }
            int r = p[0], g = p[1], b = p[2];
            var max = Math.Max(r, Math.Max(g, b));
            var min = Math.Min(r, Math.Min(g, b));
            var sat = max == 0 ? 0f : (max - min) / (float)max;
            var ink = max < blackValue && sat < blackSat;
            if (!ink && sat >= minSat)
            {
                var hue = Hue(r, g, b, max, min);
                ink = hue >= hueMin && hue <= hueMax;
            }
            pen[i] = (byte)(ink ? 1 : 0);
            density[i] = od[r] + od[g] + od[b];
            luminance[i] = (byte)(((77 * r) + (150 * g) + (29 * b)) >> 8);
        }
    }

    /// <summary>HSV hue in degrees, 0–360.</summary>
    private static float Hue(int r, int g, int b, int max, int min)
    {
        float d = max - min;
        if (d == 0)
        {
            return 0;
        }
        float hue = max == r ? (g - b) / d : max == g ? 2 + ((b - r) / d) : 4 + ((r - g) / d);
        hue *= 60;
        return hue < 0 ? hue + 360 : hue;
    }

    /// <summary>Mask pixels around ink where no fold is looked for.</summary>
    private const int InkMargin = 2;

    /// <summary>Opening radius (mask pixels) applied to the fold mask.</summary>
    private const int FoldOpening = 2;

    /// <summary>Median optical density of the pixels marked in <paramref name="area"/>, from a 0.01-wide histogram.</summary>
    private static double MedianDensity(float[] density, byte[] area)
    {
        const int Bins = 1024;
        var histogram = new long[Bins];
        long count = 0;
        for (var i = 0; i < density.Length; i++)
        {
            if (area[i] != 0)
            {
                histogram[Math.Min(Bins - 1, (int)(density[i] * 100))]++;
                count++;
            }
        }
        if (count == 0)
        {
            return 0;
        }
        long seen = 0;
        for (var k = 0; k < Bins; k++)
        {
            seen += histogram[k];
            if (seen * 2 >= count)
            {
                return (k + 0.5) / 100;
            }
        }
        return 0;
    }

    private static StainMeasures Stain(byte[] luminance, byte[] area, QualityOptions options)
    {
        var histogram = new long[256];
        long count = 0;
        for (var i = 0; i < luminance.Length; i++)
        {
            if (area[i] != 0)
            {
                histogram[luminance[i]]++;
                count++;
            }
        }
        if (count == 0)
        {
            return StainMeasures.None;
        }
        double sum = 0, sumSq = 0;
        long dark = 0, bright = 0;
        for (var v = 0; v < 256; v++)
        {
            var y = v / 255.0;
            sum += histogram[v] * y;
            sumSq += histogram[v] * y * y;
            dark += y < options.DarkLuminance ? histogram[v] : 0;
            bright += y > options.BrightLuminance ? histogram[v] : 0;
        }
        var mean = sum / count;
        var std = Math.Sqrt(Math.Max(0, (sumSq / count) - (mean * mean)));
        return new StainMeasures(Math.Round((double)dark / count, 6), Math.Round((double)bright / count, 6), Math.Round(mean, 6), Math.Round(std, 6));
    }

    /// <summary>Optical density −ln(v/255) of a channel value (v = 0 taken as 1).</summary>
    private static readonly float[] DensityTable = [.. Enumerable.Range(0, 256).Select(v => (float)-Math.Log(Math.Max(1, v) / 255.0))];
}
