namespace Histoscale.Pipeline.Planning;

/// <summary>One tile of a plan: its grid position and tissue fraction. Index = position in the plan's order.</summary>
/// <param name="Column">Grid column (tile origin at plan pixel Column × Stride).</param>
/// <param name="Row">Grid row (tile origin at plan pixel Row × Stride).</param>
/// <param name="Tissue">Fraction of the tile's footprint that is tissue, 0–1.</param>
public readonly record struct PlannedTile(int Column, int Row, float Tissue);

/// <summary>A level-0 rectangle: where a tile lies on the slide.</summary>
/// <param name="X">Left edge in level-0 pixels.</param>
/// <param name="Y">Top edge in level-0 pixels.</param>
/// <param name="Width">Width in level-0 pixels.</param>
/// <param name="Height">Height in level-0 pixels.</param>
public readonly record struct Footprint(long X, long Y, long Width, long Height);

/// <summary>
/// The tiles to run, in a stable raster order (row by row, left to right), and how to read them: which pyramid
/// level, how much to resample (<see cref="Scale"/> level pixels per tile pixel; exactly 1 when a level matches
/// the target resolution), tile size and stride. Grid tile (c, r) starts at plan pixel (c·Stride, r·Stride);
/// a plan pixel is <see cref="Downsample"/> level-0 pixels.
/// </summary>
public sealed class TilePlan
{
    internal TilePlan(
        long slideWidth, long slideHeight, int level, double levelDownsample, double scale, int tileSize, int overlap,
        int columns, int rows, double? effectiveMpp, bool aligned, PlannedTile[] tiles, IReadOnlyList<string> notes)
    {
        SlideWidth = slideWidth;
        SlideHeight = slideHeight;
        Level = level;
        LevelDownsample = levelDownsample;
        Scale = scale;
        TileSize = tileSize;
        Overlap = overlap;
        Columns = columns;
        Rows = rows;
        EffectiveMpp = effectiveMpp;
        AlignedWithSlideTiles = aligned;
        Tiles = tiles;
        Notes = notes;
    }

    /// <summary>Level-0 width of the slide.</summary>
    public long SlideWidth { get; }

    /// <summary>Level-0 height of the slide.</summary>
    public long SlideHeight { get; }

    /// <summary>Pyramid level the pixels come from.</summary>
    public int Level { get; }

    /// <summary>Level-0 pixels per pixel of <see cref="Level"/>.</summary>
    public double LevelDownsample { get; }

    /// <summary>Level pixels per tile pixel: 1 = no resampling, &gt; 1 = area-averaged down, &lt; 1 = bilinear up.</summary>
    public double Scale { get; }

    /// <summary>Whether tiles are resampled from the level's pixels (<see cref="Scale"/> ≠ 1).</summary>
    public bool Resampled => Scale != 1.0;

    /// <summary>Level-0 pixels per tile pixel.</summary>
    public double Downsample => LevelDownsample * Scale;

    /// <summary>Tile edge in tile (model input) pixels.</summary>
    public int TileSize { get; }

    /// <summary>Pixels shared by neighbouring tiles, in tile pixels.</summary>
    public int Overlap { get; }

    /// <summary>Distance between neighbouring tiles' origins, in tile pixels (<see cref="TileSize"/> − <see cref="Overlap"/>).</summary>
    public int Stride => TileSize - Overlap;

    /// <summary>Grid size, tissue or not.</summary>
    public int Columns { get; }

    /// <summary>Grid rows, tissue or not.</summary>
    public int Rows { get; }

    /// <summary>Resolution of the tiles actually cut (µm/px); null when the slide does not say.</summary>
    public double? EffectiveMpp { get; }

    /// <summary>Whether grid tile (c, r) is exactly slide tile (c, r) of <see cref="Level"/>, so it decodes straight into the tile buffer.</summary>
    public bool AlignedWithSlideTiles { get; }

    /// <summary>The tiles to run, in order.</summary>
    public IReadOnlyList<PlannedTile> Tiles { get; }

    /// <summary>Human-readable remarks (no µm/px on the slide, resampling used...), for run.json.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Pixels of the model input per tile.</summary>
    public long PixelsPerTile => (long)TileSize * TileSize;

    /// <summary>Where a tile lies on the slide in level-0 pixels, clipped to the slide.</summary>
    public Footprint FootprintOf(PlannedTile tile)
    {
        var step = Stride * Downsample;
        var x0 = (long)Math.Round(tile.Column * step);
        var y0 = (long)Math.Round(tile.Row * step);
        var x1 = Math.Min(SlideWidth, (long)Math.Round((tile.Column * step) + (TileSize * Downsample)));
        var y1 = Math.Min(SlideHeight, (long)Math.Round((tile.Row * step) + (TileSize * Downsample)));
        return new Footprint(x0, y0, Math.Max(0, x1 - x0), Math.Max(0, y1 - y0));
    }

    /// <summary>
    /// Identifies the plan (geometry and tile list): a checkpoint made for another plan is never resumed into this one.
    /// </summary>
    public string Fingerprint()
    {
        // A fixed FNV-1a over the tile list (HashCode is randomised per process, so useless on disk).
        ulong fnv = 14695981039346656037;
        foreach (var t in Tiles)
        {
            fnv = (fnv ^ (uint)t.Column) * 1099511628211;
            fnv = (fnv ^ (uint)t.Row) * 1099511628211;
        }
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"L{Level}|s{Scale:R}|ds{LevelDownsample:R}|T{TileSize}|o{Overlap}|{Columns}x{Rows}|n{Tiles.Count}|{fnv:x16}");
    }
}
