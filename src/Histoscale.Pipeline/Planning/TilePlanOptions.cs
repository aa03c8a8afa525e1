namespace Histoscale.Pipeline.Planning;

/// <summary>What tiles to cut from a slide: size and overlap in model pixels, at a target resolution.</summary>
public sealed record TilePlanOptions
{
    /// <summary>Pipeline default resolution when neither the model nor the user gives one (µm/px, 20× scanning).</summary>
    public const double DefaultMpp = 0.5;

    /// <summary>Tile edge in model input pixels.</summary>
    public required int TileSize { get; init; }

    /// <summary>Target resolution in µm per pixel.</summary>
    public double TargetMpp { get; init; } = DefaultMpp;

    /// <summary>Pixels shared by neighbouring tiles (0 ≤ overlap &lt; tile size); the stride is TileSize − Overlap.</summary>
    public int Overlap { get; init; }

    /// <summary>
    /// A pyramid level whose resolution is within this relative distance of the target is used as is, without
    /// resampling (Aperio's "20×" is 0.499–0.504 µm/px, which every model trained at 0.5 takes as 0.5).
    /// </summary>
    public double MppTolerance { get; init; } = 0.05;

    /// <summary>Tiles whose tissue fraction is below this are skipped; 0 keeps every tile.</summary>
    public double MinTissue { get; init; } = 0.1;

    /// <summary>Tile origin spacing in tile pixels: <see cref="TileSize"/> − <see cref="Overlap"/>.</summary>
    public int Stride => TileSize - Overlap;

    /// <summary>Checks the values are usable.</summary>
    /// <exception cref="PipelineConfigException">Tile size outside 8–8192, overlap not in [0, tile size), a non-positive target µm/px, or a minimum tissue fraction outside 0–1.</exception>
    public void Validate()
    {
        if (TileSize is < 8 or > 8192)
        {
            throw new PipelineConfigException($"tile size {TileSize} must be between 8 and 8192 pixels");
        }
        if (Overlap < 0 || Overlap >= TileSize)
        {
            throw new PipelineConfigException($"overlap {Overlap} must be at least 0 and smaller than the tile size {TileSize}");
        }
        if (!(TargetMpp > 0) || !double.IsFinite(TargetMpp))
        {
            throw new PipelineConfigException($"target resolution {TargetMpp} µm/px must be a positive number");
        }
        if (MinTissue is < 0 or > 1 || double.IsNaN(MinTissue))
        {
            throw new PipelineConfigException($"minimum tissue fraction {MinTissue} must be between 0 and 1");
        }
    }
}
