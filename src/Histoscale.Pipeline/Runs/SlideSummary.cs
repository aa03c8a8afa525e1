using Histoscale.Pipeline.Outputs;

namespace Histoscale.Pipeline.Runs;

/// <summary>Outcome of one slide in a run (also what run.json and <c>--json</c> report).</summary>
public sealed record SlideSummary
{
    public const string Completed = "completed";
    public const string Skipped = "skipped";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public required string Name { get; init; }

    public required string Path { get; init; }

    /// <summary>completed | skipped (finished by an earlier run) | failed | cancelled.</summary>
    public required string Status { get; init; }

    public string? Error { get; init; }

    /// <summary>Tiles in the slide's plan (all of them are in the tile table when completed).</summary>
    public int Tiles { get; init; }

    /// <summary>Tiles inferred by this run (fewer than <see cref="Tiles"/> after a resume, 0 when skipped).</summary>
    public int TilesRun { get; init; }

    /// <summary>Tiles found in the checkpoint when the run started.</summary>
    public int TilesResumed { get; init; }

    /// <summary>Wall time of this slide in this run: open, tissue, plan, inference, outputs.</summary>
    public double Seconds { get; init; }

    /// <summary>Tiles run per wall second.</summary>
    public double TilesPerSecond { get; init; }

    /// <summary>Model-input megapixels (tiles run × tile size²) per wall second.</summary>
    public double MegapixelsPerSecond { get; init; }

    /// <summary>Seconds of the inference phase alone (first tile read to last batch checkpointed).</summary>
    public double InferenceSeconds { get; init; }

    public int? Level { get; init; }

    public double? EffectiveMpp { get; init; }

    public bool? Resampled { get; init; }

    public bool? AlignedWithSlideTiles { get; init; }

    public IReadOnlyDictionary<string, double>? Stages { get; init; }

    public IReadOnlyList<string>? Outputs { get; init; }

    /// <summary>Where the heatmap lies on the slide (also in its ImageDescription); null without a heatmap.</summary>
    public HeatmapRegistration? Heatmap { get; init; }

    public IReadOnlyList<string>? Notes { get; init; }

    /// <summary>
    /// Plan tiles whose data could not be read (corrupt or truncated): <c>status=unreadable</c> in the tile table,
    /// left out of the maps and vector outputs. At most <see cref="RunOptions.BadTilesAllowed"/> for a completed slide.
    /// </summary>
    public int UnreadableTiles { get; init; }

    /// <summary>The first few unreadable tiles' errors (file, level, tile, cause), from the tiles this run read; null when none.</summary>
    public IReadOnlyList<string>? UnreadableCauses { get; init; }
}

/// <summary>Outcome of a run over many slides.</summary>
public sealed record RunSummary(IReadOnlyList<SlideSummary> Slides, bool Cancelled, string RunJsonPath)
{
    public bool AnyFailed => Slides.Any(s => s.Status == SlideSummary.Failed);
}
