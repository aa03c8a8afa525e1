using System.Globalization;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Planning;

/// <summary>Builds a <see cref="TilePlan"/> for a slide: picks the level, the resampling and the tiles with tissue.</summary>
public static class TilePlanner
{
    /// <summary>Plans from a slide's geometry (levels, µm/px) and an optional tissue mask (null = every tile).</summary>
    public static TilePlan Create(Slide slide, TilePlanOptions options, TissueMask? tissue) =>
        Create(slide.Levels, SlideMpp(slide), options, tissue);

    /// <summary>Plans from level geometry alone (unit-testable without a file).</summary>
    public static TilePlan Create(IReadOnlyList<Level> levels, double? slideMpp, TilePlanOptions options, TissueMask? tissue)
    {
        options.Validate();
        if (levels.Count == 0)
        {
            throw new ArgumentException("a slide needs at least one level", nameof(levels));
        }
        var notes = new List<string>();
        var inv = CultureInfo.InvariantCulture;
        double wanted;
        if (slideMpp is { } mpp and > 0)
        {
            wanted = options.TargetMpp / mpp;
        }
        else
        {
            wanted = 1;
            notes.Add("the slide does not give its µm/px; tiles are cut from level 0 without resampling");
        }

        var (level, scale) = ChooseLevel(levels, wanted, options.MppTolerance);
        var lvl = levels[level];
        if (scale != 1.0)
        {
            notes.Add(string.Create(inv, $"no level matches {options.TargetMpp:0.###} µm/px; level {level} is resampled by {1 / scale:0.####}× ({(scale > 1 ? "area average" : "bilinear")})"));
        }
        var planWidth = lvl.Width / scale;
        var planHeight = lvl.Height / scale;
        var stride = options.Stride;
        var columns = Count(planWidth, options.TileSize, stride);
        var rows = Count(planHeight, options.TileSize, stride);
        var aligned = scale == 1.0 && options.Overlap == 0 && lvl.TileWidth == options.TileSize && lvl.TileHeight == options.TileSize;

        var slideWidth = levels[0].Width;
        var slideHeight = levels[0].Height;
        var downsample = lvl.Downsample * scale;
        var tiles = new List<PlannedTile>();
        var step = stride * downsample;
        var extent = options.TileSize * downsample;
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var fraction = tissue is null ? 1.0 : tissue.Fraction(c * step, r * step, extent, extent);
                // MinTissue 0 keeps every tile; otherwise a tile needs at least that fraction (and some tissue).
                if (options.MinTissue == 0 || (fraction > 0 && fraction >= options.MinTissue))
                {
                    tiles.Add(new PlannedTile(c, r, (float)fraction));
                }
            }
        }
        double? effective = slideMpp is { } m2 and > 0 ? m2 * downsample : null;
        return new TilePlan(slideWidth, slideHeight, level, lvl.Downsample, scale, options.TileSize, options.Overlap,
            columns, rows, effective, aligned, [.. tiles], notes);
    }

    /// <summary>Mean of the slide's x and y µm/px, or null when it gives none.</summary>
    public static double? SlideMpp(Slide slide) => (slide.MppX, slide.MppY) switch
    {
        ({ } x, { } y) when x > 0 && y > 0 => (x + y) / 2,
        ({ } x, null) when x > 0 => x,
        (null, { } y) when y > 0 => y,
        _ => null,
    };

    /// <summary>
    /// A level within tolerance of the wanted downsample is used as is (the closest such); otherwise the most
    /// detailed level not coarser than wanted is resampled (OpenSlide's best-level rule), so detail is never invented
    /// unless the slide is coarser than the target everywhere.
    /// </summary>
    private static (int Level, double Scale) ChooseLevel(IReadOnlyList<Level> levels, double wanted, double tolerance)
    {
        var best = -1;
        var bestError = double.MaxValue;
        for (var i = 0; i < levels.Count; i++)
        {
            var error = Math.Abs((levels[i].Downsample / wanted) - 1);
            if (error <= tolerance && error < bestError)
            {
                best = i;
                bestError = error;
            }
        }
        if (best >= 0)
        {
            return (best, 1.0);
        }
        var level = 0;
        for (var i = levels.Count - 1; i >= 0; i--)
        {
            if (levels[i].Downsample <= wanted + 1e-9)
            {
                level = i;
                break;
            }
        }
        return (level, wanted / levels[level].Downsample);
    }

    /// <summary>Tiles needed so the last one reaches the far edge: starts at 0, stride, 2·stride...</summary>
    private static int Count(double extent, int tile, int stride) =>
        extent <= tile ? 1 : (int)Math.Ceiling((extent - tile) / stride - 1e-9) + 1;
}
