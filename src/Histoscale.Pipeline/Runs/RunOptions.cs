using Histoscale.Inference.Models;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Runs;

/// <summary>Everything about a run besides the model and the slides.</summary>
public sealed record RunOptions
{
    /// <summary>Folder for the outputs, run.json and checkpoints (created when missing).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// Where run.json is written; null = run.json in <see cref="OutputDirectory"/>. Queue workers that share an
    /// output folder give each slide its own report.
    /// </summary>
    public string? ReportPath { get; init; }

    /// <summary>Target µm/px; null = the model's, else <see cref="Planning.TilePlanOptions.DefaultMpp"/>.</summary>
    public double? TargetMpp { get; init; }

    /// <summary>Tile overlap in model pixels.</summary>
    public int Overlap { get; init; }

    /// <summary>Skip tiles with less tissue than this (ignored without tissue detection).</summary>
    public double MinTissue { get; init; } = 0.1;

    /// <summary>False = every tile of the slide is run (<c>--no-tissue</c>).</summary>
    public bool DetectTissue { get; init; } = true;

    /// <summary>How tissue is detected when <see cref="DetectTissue"/> is true.</summary>
    public TissueOptions Tissue { get; init; } = new();

    /// <summary>
    /// How slides are opened: which URI schemes (object stores are the host's to add) and formats. Its cache is not
    /// used by runs, which give each slide a cache sized to its plan's working set; the tile sampler uses it.
    /// </summary>
    public SlideOptions Slides { get; init; } = new();

    /// <summary>Batch size, read workers and buffering of each slide's stages.</summary>
    public PipelineOptions Pipeline { get; init; } = new();

    /// <summary>Class score (or value) at or above which a map cell belongs to a class region.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>
    /// Unreadable tiles (corrupt or truncated data) a slide may have and still complete (<c>--max-bad-tiles N</c>);
    /// null = <see cref="MaxBadTileFraction"/> of its plan's tiles.
    /// </summary>
    public int? MaxBadTiles { get; init; }

    /// <summary>Unreadable tiles a slide may have, as a fraction of its plan's tiles (<c>--max-bad-tiles 1%</c>), when <see cref="MaxBadTiles"/> is null.</summary>
    public double MaxBadTileFraction { get; init; } = 0.01;

    /// <summary>How many of <paramref name="planTiles"/> tiles may be unreadable before the slide fails.</summary>
    public int BadTilesAllowed(int planTiles) => MaxBadTiles ?? (int)Math.Floor(MaxBadTileFraction * planTiles);

    /// <summary>
    /// Stain normalisation of every tile (<c>--stain-normalize</c>); null = tiles as scanned (outputs and settings
    /// key exactly as without it).
    /// </summary>
    public Staining.StainNormalization? Stain { get; init; }

    /// <summary>
    /// Quality control before inference (<c>infer --qc</c>): tiles over blur, ink or folds are not read nor inferred and
    /// get <c>status=excluded:blur|pen|fold</c>; null = off (outputs as without it).
    /// </summary>
    public Quality.QualityOptions? Quality { get; init; }

    /// <summary>Extra facts for run.json (device, backend and runtime versions...) that the library cannot know.</summary>
    public IReadOnlyDictionary<string, object?> Environment { get; init; } = new Dictionary<string, object?>();

    /// <summary>How a slide is tiled for <paramref name="model"/>: the one definition shared by runs and tile sampling.</summary>
    public TilePlanOptions PlanOptions(ModelDescription model, int tileSize) => new()
    {
        TileSize = tileSize,
        TargetMpp = TargetMpp ?? model.Parameters.Mpp ?? TilePlanOptions.DefaultMpp,
        Overlap = Overlap,
        MinTissue = DetectTissue ? MinTissue : 0,
    };
}
