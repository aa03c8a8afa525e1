using System.Diagnostics;
using Histoscale.Inference.Models;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Outputs;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Preprocessing;
using Histoscale.Pipeline.Quality;
using Histoscale.Pipeline.Reading;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;
using Histoscale.Slides.Caching;
using Histoscale.Slides.Sources;

namespace Histoscale.Pipeline.Runs;

/// <summary>
/// One slide from start to outputs, in three steps a run can overlap across slides: <see cref="Prepare"/> (open,
/// detect tissue, plan, drop a checkpoint of other bytes), <see cref="Infer"/> (resume or start the checkpoint,
/// infer the remaining tiles; the slide is closed after it) and <see cref="Write"/> (the outputs, then the state
/// marked complete). A checkpoint is resumed only for the content identity it was written from. Each step throws on
/// failure or cancellation (the checkpoint stays).
/// </summary>
internal sealed class SlideRunner(ModelDescription model, ModelIo io, TensorPacker packer, DynamicBatcher batcher, RunOptions options, string settings)
{
    /// <summary>
    /// Opens the slide, detects its tissue and plans its tiles; a checkpoint left by other bytes under this name is
    /// deleted. Touches nothing but this slide's own checkpoint, so it may run while another slide is inferred.
    /// The result owns the open slide until <see cref="Infer"/> (or its disposal) closes it.
    /// </summary>
    public PreparedSlide Prepare(string slidePath, SlideOutputPaths paths, string checkpointDir, string? rerunReason, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var timings = new StageTimings();
        var statePath = Path.Combine(checkpointDir, paths.Name + ".state.json");
        var resultsPath = Path.Combine(checkpointDir, paths.Name + ".results.bin");
        var previous = SlideState.TryLoad(statePath);

        var cache = new TileCache(MaxCacheBytes);
        var slide = Slide.Open(slidePath, options.Slides with { Cache = cache });
        try
        {
            // The identity of the bytes actually opened: what the results below are results of.
            var identity = slide.SourceIdentity;
            if (File.Exists(resultsPath) && SourceIdentity.Difference(previous?.Identity, identity) is { } changed)
            {
                // Another slide under the same name (or one we cannot match): its checkpointed tiles are not this slide's.
                File.Delete(resultsPath);
                rerunReason = $"checkpoint not resumed: {changed}";
            }
            cancellationToken.ThrowIfCancellationRequested();
            var t0 = Stopwatch.GetTimestamp();
            TissueMask? tissue = null;
            Stain.StainNormalizer? stain = null;
            if (options.Stain is { } normalization)
            {
                // The slide's own stain, from the tissue detector's image and mask (computed even with --no-tissue:
                // stain is fitted on tissue only), then the map onto the target.
                var (mask, image) = TissueDetector.DetectWithImage(slide, options.Tissue);
                tissue = options.DetectTissue ? mask : null;
                timings.AddTissue(Stopwatch.GetTimestamp() - t0);
                t0 = Stopwatch.GetTimestamp();
                var own = Staining.SlideStain.Fit(image, mask, normalization.Method, normalization.Options, slidePath);
                stain = new Stain.StainNormalizer(own, normalization.Target, normalization.Options);
                timings.AddStainFit(Stopwatch.GetTimestamp() - t0);
            }
            else
            {
                tissue = options.DetectTissue ? TissueDetector.Detect(slide, options.Tissue) : null;
                timings.AddTissue(Stopwatch.GetTimestamp() - t0);
            }
            CheckDetectionTiles(slidePath, tissue, options);
            cancellationToken.ThrowIfCancellationRequested();
            t0 = Stopwatch.GetTimestamp();
            var plan = TilePlanner.Create(slide, options.PlanOptions(model, io.TileSize), tissue);
            timings.AddPlan(Stopwatch.GetTimestamp() - t0);
            var (quality, exclusions) = options.Quality is { } qcOptions ? Exclusions(slide, plan, qcOptions with { MaxBadTiles = options.MaxBadTiles, MaxBadTileFraction = options.MaxBadTileFraction }, timings, cancellationToken) : (null, null);
            cache.Resize(PlanTileReader.WorkingSetBytes(slide, plan, bytesPerPixel: 4, MinCacheBytes, MaxCacheBytes));
            return new PreparedSlide(slidePath, paths, statePath, resultsPath, slide, cache, identity, tissue, plan, plan.Fingerprint(), rerunReason, timings,
                Stopwatch.GetElapsedTime(start).TotalSeconds)
            { Stain = stain, Quality = quality, Exclusions = exclusions };
        }
        catch
        {
            slide.Dispose();
            throw;
        }
    }

    /// <summary>Quality control of the slide and, per plan tile, the artifact it is excluded for (0 = none).</summary>
    private static (SlideQuality, byte[]) Exclusions(Slide slide, TilePlan plan, QualityOptions qc, StageTimings timings, CancellationToken cancellationToken)
    {
        var t0 = Stopwatch.GetTimestamp();
        var quality = QualityControl.Assess(slide, qc, cancellationToken);
        var exclusions = new byte[plan.Tiles.Count];
        for (var i = 0; i < exclusions.Length; i++)
        {
            exclusions[i] = (byte)quality.ArtifactOver(plan.FootprintOf(plan.Tiles[i]), qc.ExcludeTileFraction);
        }
        timings.AddQuality(Stopwatch.GetTimestamp() - t0);
        return (quality, exclusions);
    }

    /// <summary>
    /// Marks the state running, resumes or starts the checkpoint and infers the remaining tiles; closes the slide
    /// (also on failure). Throws when more tiles were unreadable than allowed. <paramref name="readingDone"/> is called
    /// once the last tile has been read (its batches may still be in the model): the next slide may start reading then.
    /// </summary>
    public InferredSlide Infer(PreparedSlide prepared, Action<SlidePhase, int, int, int> progress, Action? readingDone, CancellationToken cancellationToken)
    {
        using var owned = prepared;
        var start = Stopwatch.GetTimestamp();
        var plan = prepared.Plan;
        var slidePath = prepared.SlidePath;
        var state = new SlideState
        {
            Slide = slidePath,
            Identity = prepared.Identity,
            Settings = settings,
            Plan = prepared.Fingerprint,
            Status = "running",
            TilesTotal = plan.Tiles.Count,
        };
        state.Save(prepared.StatePath);

        int resumed;
        IReadOnlyDictionary<int, string> unreadable;
        // The identity is part of the checkpoint's key too, so a checkpoint without a state beside it is not resumed for other bytes.
        using (var results = ResultsFile.OpenOrCreate(prepared.ResultsPath, $"{settings}|{prepared.Fingerprint}|{IdentityKey(prepared.Identity)}", io.ValuesPerTile, plan.Tiles.Count))
        {
            resumed = results.TilesDone;
            var done = resumed;
            progress(SlidePhase.Inferring, done, plan.Tiles.Count, 0);
            using var reader = new PlanTileReader(prepared.Slide, plan);
            var engine = new SlideInference(reader, plan, io, packer, batcher, results, options.Pipeline, prepared.Timings, prepared.Stain, prepared.Exclusions, written =>
            {
                done += written;
                progress(SlidePhase.Inferring, done, plan.Tiles.Count, done - resumed);
            }, () =>
            {
                // Every tile is read: the decoded tiles this slide kept go back to the pool before the next slide
                // starts reading (its last batches may still be in the model for a while).
                reader.Dispose();
                prepared.Cache.Resize(0);
                readingDone?.Invoke();
            });
            engine.RunAsync(cancellationToken).GetAwaiter().GetResult();
            unreadable = engine.Unreadable;
        }
        // Tiles found unreadable before a resume are known from the checkpoint alone.
        var unreadableCount = unreadable.Count + (resumed == 0 ? 0 : ResultsFile.ReadTiles(prepared.ResultsPath, io.ValuesPerTile).Count(t => t.Tile < resumed && ResultsFile.IsUnreadable(t.Values)));
        var causes = unreadable.OrderBy(u => u.Key).Take(MaxCausesReported).Select(u => u.Value).ToArray();
        var allowed = options.BadTilesAllowed(plan.Tiles.Count);
        if (unreadableCount > allowed)
        {
            throw new SlideException(slidePath, $"{unreadableCount} of {plan.Tiles.Count} tiles could not be read, more than --max-bad-tiles allows ({allowed})"
                + (causes.Length > 0 ? $"; first: {causes[0]}" : ""));
        }
        var inferSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new InferredSlide(prepared, state, resumed, unreadableCount, causes, inferSeconds, prepared.Slide.MppX, prepared.Slide.MppY);
    }

    /// <summary>Writes the outputs from the complete checkpoint, marks the state complete and deletes the checkpoint.</summary>
    public SlideSummary Write(InferredSlide inferred)
    {
        var start = Stopwatch.GetTimestamp();
        var prepared = inferred.Prepared;
        var plan = prepared.Plan;
        var timings = prepared.Timings;
        var modelLabel = $"{model.Name} v{model.Version}";
        var outputs = SlideOutputWriter.Write(prepared.Paths, plan, io, prepared.Tissue, prepared.ResultsPath, options.Threshold, inferred.MppX, inferred.MppY, modelLabel, prepared.Exclusions);
        var writeSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        timings.AddOutputs(Stopwatch.GetTimestamp() - start);

        // The slide's own time: its preparation, inference and writing, not the time it waited for a neighbour.
        var seconds = prepared.PrepareSeconds + inferred.InferSeconds + writeSeconds;
        var run = plan.Tiles.Count - inferred.Resumed;
        var summary = new SlideSummary
        {
            Name = prepared.Paths.Name,
            Path = prepared.SlidePath,
            Status = SlideSummary.Completed,
            RerunReason = prepared.RerunReason,
            Tiles = plan.Tiles.Count,
            TilesRun = run,
            TilesResumed = inferred.Resumed,
            Seconds = Math.Round(seconds, 3),
            TilesPerSecond = Math.Round(seconds > 0 ? run / seconds : 0, 2),
            MegapixelsPerSecond = Math.Round(seconds > 0 ? run * (double)plan.PixelsPerTile / 1e6 / seconds : 0, 2),
            InferenceSeconds = Math.Round(inferred.InferSeconds, 3),
            Level = plan.Level,
            EffectiveMpp = plan.EffectiveMpp is { } e ? Math.Round(e, 5) : null,
            Resampled = plan.Resampled,
            AlignedWithSlideTiles = plan.AlignedWithSlideTiles,
            Stages = timings.Seconds(),
            Outputs = [.. outputs.Files.Select(Path.GetFileName).OfType<string>()],
            Heatmap = outputs.Heatmap,
            Notes = plan.Notes,
            UnreadableTiles = inferred.UnreadableCount,
            UnreadableCauses = inferred.Causes.Length > 0 ? inferred.Causes : null,
            Stain = prepared.Stain is { } stain ? SlideStainSummary.Of(stain.Source) : null,
            Qc = prepared.Quality is { } q ? QcSummary.From(q, prepared.Exclusions!) : null,
            TissueUnreadableTiles = prepared.Tissue is { UnreadableTiles: > 0 } detection ? detection.UnreadableTiles : null,
            TissueUnreadableCauses = prepared.Tissue is { UnreadableTiles: > 0 } t ? t.UnreadableCauses : null,
        };
        (inferred.State with { Status = "complete", Summary = summary }).Save(prepared.StatePath);
        // The tile table now holds everything the checkpoint did.
        File.Delete(prepared.ResultsPath);
        return summary;
    }

    private static string IdentityKey(SourceIdentity? id) =>
        id is null ? "unknown" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id.Length}|{id.Version}|{id.ETag}|{id.Modified?.UtcTicks}|{id.EndsSha256}");

    /// <summary>
    /// Corrupt tiles of the tissue-detection level count as background; beyond what <c>--max-bad-tiles</c> allows of
    /// that level's tiles the slide fails, naming the first.
    /// </summary>
    internal static void CheckDetectionTiles(string slidePath, TissueMask? tissue, RunOptions options)
    {
        if (tissue is not { UnreadableTiles: > 0 } t)
        {
            return;
        }
        var allowed = options.BadTilesAllowed((int)Math.Min(int.MaxValue, t.DetectionTiles));
        if (t.UnreadableTiles > allowed)
        {
            throw new SlideException(slidePath, $"tissue detection: {t.UnreadableTiles} of {t.DetectionTiles} detection-level tiles could not be read, more than --max-bad-tiles allows ({allowed})"
                + (t.UnreadableCauses.Count > 0 ? $"; first: {t.UnreadableCauses[0]}" : ""));
        }
    }

    /// <summary>Causes of unreadable tiles run.json lists (the first, in plan order); the count covers them all.</summary>
    private const int MaxCausesReported = 5;

    /// <summary>Bounds of the slide's RGBA tile cache (edge tiles, non-JPEG slides).</summary>
    private const long MinCacheBytes = 32L * 1024 * 1024;
    private const long MaxCacheBytes = 256L * 1024 * 1024;
}

/// <summary>A slide opened, its tissue detected and its tiles planned: what inference needs. Owns the open slide.</summary>
internal sealed record PreparedSlide(
    string SlidePath,
    SlideOutputPaths Paths,
    string StatePath,
    string ResultsPath,
    Slide Slide,
    TileCache Cache,
    SourceIdentity? Identity,
    TissueMask? Tissue,
    TilePlan Plan,
    string Fingerprint,
    string? RerunReason,
    StageTimings Timings,
    double PrepareSeconds) : IDisposable
{
    /// <summary>The map of this slide's stain onto the run's target (<see cref="RunOptions.Stain"/>); null without normalisation.</summary>
    public Stain.StainNormalizer? Stain { get; init; }

    /// <summary>Quality control's result (<c>infer --qc</c>); null without it.</summary>
    public SlideQuality? Quality { get; init; }

    /// <summary>Per plan tile, the <see cref="QualityArtifact"/> it is excluded for (0 = run it); null without quality control.</summary>
    public byte[]? Exclusions { get; init; }

    /// <summary>Closes the slide (its file and tile cache).</summary>
    public void Dispose() => Slide.Dispose();
}

/// <summary>A slide whose checkpoint is complete: what writing its outputs needs (the slide itself is closed).</summary>
internal sealed record InferredSlide(
    PreparedSlide Prepared,
    SlideState State,
    int Resumed,
    int UnreadableCount,
    string[] Causes,
    double InferSeconds,
    double? MppX,
    double? MppY)
{
    /// <summary>The slide's plan.</summary>
    public TilePlan Plan => Prepared.Plan;
}
