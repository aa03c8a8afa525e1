using Histoscale.Pipeline.Outputs;

namespace Histoscale.Pipeline.Runs;

/// <summary>Outcome of one slide in a run (also what run.json and <c>--json</c> report).</summary>
public sealed record SlideSummary
{
    /// <summary><see cref="Status"/> of a slide finished in this run.</summary>
    public const string Completed = "completed";
    /// <summary><see cref="Status"/> of a slide finished by an earlier run.</summary>
    public const string Skipped = "skipped";
    /// <summary><see cref="Status"/> of a slide that failed; see <see cref="Error"/>.</summary>
    public const string Failed = "failed";
    /// <summary><see cref="Status"/> of a slide stopped by cancellation.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Output name: the slide's file name without its extension.</summary>
    public required string Name { get; init; }

    /// <summary>The slide's path or URI as given.</summary>
    public required string Path { get; init; }

    /// <summary>completed | skipped (finished by an earlier run) | failed | cancelled.</summary>
    public required string Status { get; init; }

    /// <summary>Why the slide failed or was cancelled; null otherwise.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// Why a slide with results from an earlier run was run again, or its checkpoint not resumed (e.g.
    /// <c>content changed: ETag "abc" → "def"</c>); null when there was nothing to reuse.
    /// </summary>
    public string? RerunReason { get; init; }

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

    /// <summary>Pyramid level tiles were read from (see <see cref="Planning.TilePlan.Level"/>).</summary>
    public int? Level { get; init; }

    /// <summary>µm per tile pixel actually used; null when the slide gives no resolution.</summary>
    public double? EffectiveMpp { get; init; }

    /// <summary>Whether tiles were resampled from the level's pixels.</summary>
    public bool? Resampled { get; init; }

    /// <summary>Whether plan tiles coincided with the slide's stored tiles (the fastest read path).</summary>
    public bool? AlignedWithSlideTiles { get; init; }

    /// <summary>Seconds spent per stage of the slide, by stage name.</summary>
    public IReadOnlyDictionary<string, double>? Stages { get; init; }

    /// <summary>File names of the outputs written (in the run's output folder).</summary>
    public IReadOnlyList<string>? Outputs { get; init; }

    /// <summary>Where the heatmap lies on the slide (also in its ImageDescription); null without a heatmap.</summary>
    public HeatmapRegistration? Heatmap { get; init; }

    /// <summary>Notes from planning for a user to read (level choice, resampling...).</summary>
    public IReadOnlyList<string>? Notes { get; init; }

    /// <summary>
    /// Plan tiles whose data could not be read (corrupt or truncated): <c>status=unreadable</c> in the tile table,
    /// left out of the maps and vector outputs. At most <see cref="RunOptions.BadTilesAllowed"/> for a completed slide.
    /// </summary>
    public int UnreadableTiles { get; init; }

    /// <summary>The first few unreadable tiles' errors (file, level, tile, cause), from the tiles this run read; null when none.</summary>
    public IReadOnlyList<string>? UnreadableCauses { get; init; }

    /// <summary>With stain normalisation: this slide's own stain parameters, as estimated (the fields of target.json).</summary>
    public SlideStainSummary? Stain { get; init; }

    /// <summary>Quality control's findings (<c>infer --qc</c>); null without it.</summary>
    public QcSummary? Qc { get; init; }

    /// <summary>
    /// Tiles of the tissue-detection level that could not be decoded and were treated as background (at most what
    /// <c>--max-bad-tiles</c> allows of that level's tiles for a completed slide); null when none (run.json as before).
    /// </summary>
    public int? TissueUnreadableTiles { get; init; }

    /// <summary>The first few of those tiles' errors; null when none.</summary>
    public IReadOnlyList<string>? TissueUnreadableCauses { get; init; }
}

/// <summary>What quality control found on a slide before inference, and the tiles it left out (run.json).</summary>
public sealed record QcSummary
{
    /// <summary>Tissue as a fraction of the slide.</summary>
    public double TissueFraction { get; init; }

    /// <summary>Blurred fraction of the tissue.</summary>
    public double BlurFraction { get; init; }

    /// <summary>Inked fraction of the tissue.</summary>
    public double PenFraction { get; init; }

    /// <summary>Folded fraction of the tissue.</summary>
    public double FoldFraction { get; init; }

    /// <summary>Dark fraction of the tissue.</summary>
    public double DarkFraction { get; init; }

    /// <summary>Bright fraction of the tissue.</summary>
    public double BrightFraction { get; init; }

    /// <summary>Whether no QC threshold tripped.</summary>
    public bool Usable { get; init; }

    /// <summary>The thresholds that tripped.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];

    /// <summary>Tiles of quality control's mask image that could not be decoded (background); null when none.</summary>
    public int? UnreadableTiles { get; init; }

    /// <summary>The first few of those tiles' errors; null when none.</summary>
    public IReadOnlyList<string>? UnreadableCauses { get; init; }

    /// <summary>Full-resolution focus samples that could not be decoded (left out of the focus measure); null when none.</summary>
    public int? FocusUnreadableTiles { get; init; }

    /// <summary>The first few of those samples' errors; null when none.</summary>
    public IReadOnlyList<string>? FocusUnreadableCauses { get; init; }

    /// <summary>Plan tiles excluded over blur.</summary>
    public int ExcludedBlur { get; init; }

    /// <summary>Plan tiles excluded over ink.</summary>
    public int ExcludedPen { get; init; }

    /// <summary>Plan tiles excluded over folds.</summary>
    public int ExcludedFold { get; init; }

    internal static QcSummary From(Quality.SlideQuality q, byte[] exclusions) => new()
    {
        TissueFraction = Math.Round(q.TissueFraction, 5),
        BlurFraction = Math.Round(q.BlurFraction, 5),
        PenFraction = Math.Round(q.PenFraction, 5),
        FoldFraction = Math.Round(q.FoldFraction, 5),
        DarkFraction = Math.Round(q.Stain.DarkFraction, 5),
        BrightFraction = Math.Round(q.Stain.BrightFraction, 5),
        Usable = q.Usable,
        Flags = q.Flags,
        UnreadableTiles = q.UnreadableTiles > 0 ? q.UnreadableTiles : null,
        UnreadableCauses = q.UnreadableTiles > 0 ? q.UnreadableCauses : null,
        FocusUnreadableTiles = q.FocusUnreadableTiles > 0 ? q.FocusUnreadableTiles : null,
        FocusUnreadableCauses = q.FocusUnreadableTiles > 0 ? q.FocusUnreadableCauses : null,
        ExcludedBlur = exclusions.Count(e => e == (byte)Quality.QualityArtifact.Blur),
        ExcludedPen = exclusions.Count(e => e == (byte)Quality.QualityArtifact.Pen),
        ExcludedFold = exclusions.Count(e => e == (byte)Quality.QualityArtifact.Fold),
    };
}

/// <summary>Outcome of a run over many slides.</summary>
/// <param name="Slides">One summary per slide started, in run order.</param>
/// <param name="Cancelled">Whether the run was stopped by cancellation before every slide was done.</param>
/// <param name="RunJsonPath">Path of the run.json written.</param>
public sealed record RunSummary(IReadOnlyList<SlideSummary> Slides, bool Cancelled, string RunJsonPath)
{
    /// <summary>Whether any slide has status <see cref="SlideSummary.Failed"/>.</summary>
    public bool AnyFailed => Slides.Any(s => s.Status == SlideSummary.Failed);
}

/// <summary>A slide's own stain parameters in run.json: the fields a target.json of its method has.</summary>
public sealed record SlideStainSummary
{
    /// <summary>macenko, reinhard or vahadane.</summary>
    public required string Method { get; init; }

    /// <summary>Macenko/Vahadane: unit OD vectors [r, g, b], hematoxylin first.</summary>
    public IReadOnlyList<IReadOnlyList<double>>? StainMatrix { get; init; }

    /// <summary>Macenko/Vahadane: [hematoxylin, eosin] maximum concentrations.</summary>
    public IReadOnlyList<double>? MaxConcentrations { get; init; }

    /// <summary>Reinhard: mean of l, α, β over tissue.</summary>
    public IReadOnlyList<double>? LabMean { get; init; }

    /// <summary>Reinhard: standard deviation of l, α, β over tissue.</summary>
    public IReadOnlyList<double>? LabStd { get; init; }

    /// <summary>The summary of <paramref name="parameters"/>.</summary>
    public static SlideStainSummary Of(Histoscale.Stain.StainParameters parameters) => new()
    {
        Method = Histoscale.Stain.StainMethods.Name(parameters.Method),
        StainMatrix = parameters.StainMatrix,
        MaxConcentrations = parameters.MaxConcentrations,
        LabMean = parameters.LabMean,
        LabStd = parameters.LabStd,
    };
}
