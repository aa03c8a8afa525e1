using System.Diagnostics;
using Histoscale.Inference.Models;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Outputs;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Preprocessing;
using Histoscale.Pipeline.Reading;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;
using Histoscale.Slides.Caching;
using Histoscale.Slides.Sources;

namespace Histoscale.Pipeline.Runs;

/// <summary>
/// One slide from start to outputs: open, detect tissue, plan, resume or start the checkpoint, infer the remaining
/// tiles, write the outputs, mark the state complete. A checkpoint is resumed only for the content identity it was
/// written from. Throws on failure or cancellation (the checkpoint stays).
/// </summary>
internal sealed class SlideRunner(ModelDescription model, ModelIo io, TensorPacker packer, DynamicBatcher batcher, RunOptions options, string settings)
{
    /// <summary>Runs one slide end to end and returns its summary.</summary>
    /// <param name="slidePath">Path or URI of the slide.</param>
    /// <param name="paths">Where its outputs go.</param>
    /// <param name="checkpointDir">Where its state and partial results are kept.</param>
    /// <param name="rerunReason">Why earlier results for this slide are not reused (from the skip check), or null.</param>
    /// <param name="progress">Called with the phase, the tiles done and planned, and how many of those this run inferred (not resumed).</param>
    /// <param name="cancellationToken">Stops the run; the checkpoint stays for a resume.</param>
    public SlideSummary Run(string slidePath, SlideOutputPaths paths, string checkpointDir, string? rerunReason, Action<SlidePhase, int, int, int> progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var timings = new StageTimings();
        var statePath = Path.Combine(checkpointDir, paths.Name + ".state.json");
        var resultsPath = Path.Combine(checkpointDir, paths.Name + ".results.bin");
        var previous = SlideState.TryLoad(statePath);

        var cache = new TileCache(MaxCacheBytes);
        using var slide = Slide.Open(slidePath, options.Slides with { Cache = cache });
        // The identity of the bytes actually opened: what the results below are results of.
        var identity = slide.SourceIdentity;
        if (File.Exists(resultsPath) && SourceIdentity.Difference(previous?.Identity, identity) is { } changed)
        {
            // Another slide under the same name (or one we cannot match): its checkpointed tiles are not this slide's.
            File.Delete(resultsPath);
            rerunReason = $"checkpoint not resumed: {changed}";
        }
        var t0 = Stopwatch.GetTimestamp();
        var tissue = options.DetectTissue ? TissueDetector.Detect(slide, options.Tissue) : null;
        timings.AddTissue(Stopwatch.GetTimestamp() - t0);
        t0 = Stopwatch.GetTimestamp();
        var plan = TilePlanner.Create(slide, options.PlanOptions(model, io.TileSize), tissue);
        timings.AddPlan(Stopwatch.GetTimestamp() - t0);
        cache.Resize(PlanTileReader.WorkingSetBytes(slide, plan, bytesPerPixel: 4, MinCacheBytes, MaxCacheBytes));
        var fingerprint = plan.Fingerprint();

        var state = new SlideState
        {
            Slide = slidePath,
            Identity = identity,
            Settings = settings,
            Plan = fingerprint,
            Status = "running",
            TilesTotal = plan.Tiles.Count,
        };
        state.Save(statePath);

        int resumed;
        IReadOnlyDictionary<int, string> unreadable;
        var inferStart = Stopwatch.GetTimestamp();
        // The identity is part of the checkpoint's key too, so a checkpoint without a state beside it is not resumed for other bytes.
        using (var results = ResultsFile.OpenOrCreate(resultsPath, $"{settings}|{fingerprint}|{IdentityKey(identity)}", io.ValuesPerTile, plan.Tiles.Count))
        {
            resumed = results.TilesDone;
            var done = resumed;
            progress(SlidePhase.Inferring, done, plan.Tiles.Count, 0);
            using var reader = new PlanTileReader(slide, plan);
            var engine = new SlideInference(reader, plan, io, packer, batcher, results, options.Pipeline, timings, written =>
            {
                done += written;
                progress(SlidePhase.Inferring, done, plan.Tiles.Count, done - resumed);
            });
            engine.RunAsync(cancellationToken).GetAwaiter().GetResult();
            unreadable = engine.Unreadable;
        }
        // Tiles found unreadable before a resume are known from the checkpoint alone.
        var unreadableCount = unreadable.Count + (resumed == 0 ? 0 : ResultsFile.ReadTiles(resultsPath, io.ValuesPerTile).Count(t => t.Tile < resumed && ResultsFile.IsUnreadable(t.Values)));
        var causes = unreadable.OrderBy(u => u.Key).Take(MaxCausesReported).Select(u => u.Value).ToArray();
        var allowed = options.BadTilesAllowed(plan.Tiles.Count);
        if (unreadableCount > allowed)
        {
            throw new SlideException(slidePath, $"{unreadableCount} of {plan.Tiles.Count} tiles could not be read, more than --max-bad-tiles allows ({allowed})"
                + (causes.Length > 0 ? $"; first: {causes[0]}" : ""));
        }
        var inferSeconds = Stopwatch.GetElapsedTime(inferStart).TotalSeconds;

        progress(SlidePhase.Writing, plan.Tiles.Count, plan.Tiles.Count, plan.Tiles.Count - resumed);
        t0 = Stopwatch.GetTimestamp();
        var modelLabel = $"{model.Name} v{model.Version}";
        var outputs = SlideOutputWriter.Write(paths, plan, io, tissue, resultsPath, options.Threshold, slide.MppX, slide.MppY, modelLabel);
        timings.AddOutputs(Stopwatch.GetTimestamp() - t0);

        var seconds = clock.Elapsed.TotalSeconds;
        var run = plan.Tiles.Count - resumed;
        var summary = new SlideSummary
        {
            Name = paths.Name,
            Path = slidePath,
            Status = SlideSummary.Completed,
            RerunReason = rerunReason,
            Tiles = plan.Tiles.Count,
            TilesRun = run,
            TilesResumed = resumed,
            Seconds = Math.Round(seconds, 3),
            TilesPerSecond = Math.Round(seconds > 0 ? run / seconds : 0, 2),
            MegapixelsPerSecond = Math.Round(seconds > 0 ? run * (double)plan.PixelsPerTile / 1e6 / seconds : 0, 2),
            InferenceSeconds = Math.Round(inferSeconds, 3),
            Level = plan.Level,
            EffectiveMpp = plan.EffectiveMpp is { } e ? Math.Round(e, 5) : null,
            Resampled = plan.Resampled,
            AlignedWithSlideTiles = plan.AlignedWithSlideTiles,
            Stages = timings.Seconds(),
            Outputs = [.. outputs.Files.Select(Path.GetFileName).OfType<string>()],
            Heatmap = outputs.Heatmap,
            Notes = plan.Notes,
            UnreadableTiles = unreadableCount,
            UnreadableCauses = causes.Length > 0 ? causes : null,
        };
        (state with { Status = "complete", Summary = summary }).Save(statePath);
        // The tile table now holds everything the checkpoint did.
        File.Delete(resultsPath);
        return summary;
    }

    private static string IdentityKey(SourceIdentity? id) =>
        id is null ? "unknown" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{id.Length}|{id.Version}|{id.ETag}|{id.Modified?.UtcTicks}|{id.EndsSha256}");

    /// <summary>Causes of unreadable tiles run.json lists (the first, in plan order); the count covers them all.</summary>
    private const int MaxCausesReported = 5;

    /// <summary>Bounds of the slide's RGBA tile cache (edge tiles, non-JPEG slides, tissue detection).</summary>
    private const long MinCacheBytes = 32L * 1024 * 1024;
    private const long MaxCacheBytes = 256L * 1024 * 1024;
}
