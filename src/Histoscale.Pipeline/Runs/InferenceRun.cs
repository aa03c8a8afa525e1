using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Histoscale.Inference.Models;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Outputs;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Preprocessing;
using Histoscale.Slides.Sources;

namespace Histoscale.Pipeline.Runs;

/// <summary>
/// Runs a model over many slides into one output folder. Slides are inferred one after another (each uses the whole
/// machine), pipelined: while one is inferred, the next is opened, its tissue detected and its tiles planned, and the
/// previous one's outputs are written, so the model does not wait for per-slide fixed work. A slide finished by an earlier run with the same settings and the same content identity (size plus
/// ETag/version, or modification time and a hash of the ends for local files) is skipped, an interrupted one resumes
/// from its checkpoint, a failing one is reported and the rest continue. A slide whose content changed under the same
/// name runs afresh, its rerunReason saying what changed. run.json is rewritten after every slide.
/// Depends only on <see cref="DynamicBatcher"/> (and through it <see cref="Histoscale.Inference.IInferenceBackend"/>),
/// so any backend can serve it.
/// </summary>
public sealed class InferenceRun
{
    /// <summary>Folder (inside the output folder) for checkpoints and state files.</summary>
    public const string CheckpointFolder = ".histoscale";

    private readonly ModelDescription _model;
    private readonly DynamicBatcher _batcher;
    private readonly RunOptions _options;
    private readonly ModelIo _io;
    private readonly TensorPacker _packer;

    /// <summary>Validates everything that can be checked before a slide is read; throws *ConfigException.</summary>
    public InferenceRun(ModelDescription model, DynamicBatcher batcher, RunOptions options)
    {
        _model = model;
        _batcher = batcher;
        _options = options;
        options.Pipeline.Validate();
        var tileSize = model.TileSize ?? throw new PipelineConfigException(
            $"model '{model.Name}' accepts any tile size and none was given: set histoscale.tile_size in its config or pass --tile-size");
        new TilePlanOptions
        {
            TileSize = tileSize,
            TargetMpp = options.TargetMpp ?? model.Parameters.Mpp ?? TilePlanOptions.DefaultMpp,
            Overlap = options.Overlap,
            MinTissue = options.MinTissue,
        }.Validate();
        if (options.Threshold is double.NaN)
        {
            throw new PipelineConfigException("threshold must be a number");
        }
        options.Quality?.Validate();
        _io = new ModelIo(model, tileSize);
        _packer = new TensorPacker(model, tileSize);
        Settings = SettingsKey();
    }

    /// <summary>Hash of the model file and every setting that changes outputs; a state with another key is rerun.</summary>
    public string Settings { get; }

    /// <summary>
    /// Completes when the model is loaded (e.g. the sessions of an in-process backend started but not yet created);
    /// null when it already is. Meanwhile the run opens the first slide, detects its tissue, plans it and starts
    /// reading its tiles, whose batches wait in the batcher for the model; the next slide is prepared once it has
    /// loaded. Nothing is recorded (no summary, no run.json) before it completes; if it faults,
    /// <see cref="RunAsync"/> throws its exception once the first slide has stopped (the slide's checkpoint, if it
    /// had started one, stays for a rerun).
    /// </summary>
    public Task? ModelReady { get; init; }

    /// <summary>
    /// Runs every slide in turn (the next one prepared and the previous one written while one is inferred), writing
    /// its outputs and run.json after each, in the slides' order. A slide that fails is reported in its
    /// <see cref="SlideSummary"/> and the run goes on; a slide finished by an earlier run with the same
    /// <see cref="Settings"/> is skipped; cancellation stops the slide being inferred (and the next one if its tiles had
    /// started to be read), keeping their checkpoints for a resume; the previous slide's outputs are still written.
    /// </summary>
    /// <param name="slides">Paths or URIs, e.g. from <see cref="Inputs.SlideInputs.Expand"/>.</param>
    /// <param name="progress">Called on pipeline threads with each slide's progress; must be quick and thread-safe.</param>
    /// <param name="cancellationToken">Stops the run; the summary then says <see cref="RunSummary.Cancelled"/>.</param>
    /// <exception cref="PipelineConfigException">No slides, two slides with the same output name, or an output folder that cannot be written.</exception>
    public async Task<RunSummary> RunAsync(IReadOnlyList<string> slides, Action<SlideProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (slides.Count == 0)
        {
            throw new PipelineConfigException("no slides to run (check the paths, folders, globs or manifests given)");
        }
        var names = slides.GroupBy(SlideInputs.NameOf, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (names is not null)
        {
            throw new PipelineConfigException($"two slides would write outputs named '{names.Key}': {string.Join(", ", names)}; run them into different --out folders");
        }
        var outDir = Path.GetFullPath(_options.OutputDirectory);
        var checkpoints = Path.Combine(outDir, CheckpointFolder);
        EnsureWritable(outDir, checkpoints);

        var report = new RunReport(_options.ReportPath is { } reportPath ? Path.GetFullPath(reportPath) : Path.Combine(outDir, "run.json"), _model, _options, Settings, _io.TileSize);
        var runner = new SlideRunner(_model, _io, _packer, _batcher, _options, Settings);
        var cohort = new CohortPipeline(this, runner, report, slides, outDir, checkpoints, progress, cancellationToken);
        var (summaries, cancelled) = await cohort.RunAsync().ConfigureAwait(false);
        report.Write(summaries, slides.Count);
        return new RunSummary(summaries, cancelled, report.Path);
    }

    /// <summary>
    /// The slides of one run, overlapped: while slide N is inferred, slide N+1 is checked for a finished result,
    /// opened, its tissue detected and its tiles planned, and slide N−1's outputs are written. Slide N+1's tiles start
    /// to be read as soon as slide N's last tile is read, so its first batches queue behind slide N's last ones and the
    /// model never drains between slides. At most one slide is prepared ahead, two are in the model (one finishing),
    /// one is written, so memory stays bounded: a few slides' fixed state (open file, mask, plan) besides each
    /// inference's own bounded buffers. Summaries, their terminal progress events and run.json follow the slides'
    /// order, as when they ran one after another; outputs are the same bytes (each slide's are written from its
    /// checkpoint alone).
    /// </summary>
    private sealed class CohortPipeline(InferenceRun run, SlideRunner runner, RunReport report, IReadOnlyList<string> slides, string outDir, string checkpoints,
        Action<SlideProgress>? progress, CancellationToken cancellationToken)
    {
        private readonly List<SlideSummary> _summaries = [];

        /// <summary>Each slide's: done once its summary is recorded (so its outputs are written).</summary>
        private readonly TaskCompletionSource[] _recorded = [.. slides.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];

        /// <summary>Each slide's outcome in slide order, recorded (summary, run.json, terminal event) as each completes.</summary>
        private readonly Channel<(int Index, SlideClock Clock, Task<SlideSummary> Outcome)> _outcomes = Channel.CreateUnbounded<(int, SlideClock, Task<SlideSummary>)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        /// <summary>What preparing a slide gave: a slide to infer, or its final summary (skipped or failed).</summary>
        private sealed record Step(int Index, SlideClock Clock, PreparedSlide? Prepared, SlideSummary? Final, bool Cancelled);

        public async Task<(List<SlideSummary> Summaries, bool Cancelled)> RunAsync()
        {
            var recorder = RecordAsync();
            var stopped = false;
            Task<Step>? preparing = Prepare(0);
            Task? previousRead = null; // done once the slide before has read its last tile (or ended)
            var previousIndex = -1;
            Task<SlideSummary>? previousOutcome = null; // the slide before's outcome (written)
            Task? olderRecorded = null; // done once the slide before that has been written and recorded
            var outstanding = new List<Task>();
            var modelReady = run.ModelReady;
            try
            {
                for (var i = 0; i < slides.Count; i++)
                {
                    var index = i;
                    // A run whose recording failed (run.json not writable, the progress callback threw) stops here.
                    if (recorder.IsCompleted)
                    {
                        break;
                    }
                    var step = await preparing!.ConfigureAwait(false);
                    preparing = null;
                    if (step.Prepared is null)
                    {
                        if (step.Final is null || (cancellationToken.IsCancellationRequested && !step.Cancelled))
                        {
                            // As when slides ran one after another: a slide whose turn had not come when the run was
                            // cancelled is not reported; one stopped while it was opened is.
                            stopped = true;
                            break;
                        }
                        if (modelReady is not null)
                        {
                            // Nothing is recorded before the model has loaded: a model that cannot load fails the run.
                            await AwaitModelAsync(modelReady, Task.CompletedTask).ConfigureAwait(false);
                            modelReady = null;
                        }
                        _outcomes.Writer.TryWrite((index, step.Clock, Task.FromResult(step.Final)));
                        if (step.Cancelled)
                        {
                            stopped = true;
                            break;
                        }
                        preparing = i + 1 < slides.Count ? Prepare(i + 1) : null;
                        continue;
                    }

                    var prepared = step.Prepared;
                    // At most two slides in the model and one being written: the slide before must have read its last
                    // tile and the one before it must be written (and recorded), whatever the speed of the output storage.
                    if (olderRecorded is not null)
                    {
                        await Task.WhenAny(olderRecorded, recorder).ConfigureAwait(false);
                    }
                    if (previousRead is not null)
                    {
                        await Task.WhenAny(previousRead, recorder).ConfigureAwait(false);
                    }
                    if (cancellationToken.IsCancellationRequested || recorder.IsCompleted)
                    {
                        prepared.Dispose();
                        stopped = true;
                        break;
                    }
                    var clock = step.Clock;
                    clock.Start();
                    var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    // Inference blocks its thread on the model's batches: a dedicated thread, not one of the pool's.
                    var inferring = Task.Factory.StartNew(
                        () => runner.Infer(prepared, (p, d, t, r) => Report(index, p, d, t, r, clock), () => read.TrySetResult(), cancellationToken),
                        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                    olderRecorded = previousOutcome is null ? null : _recorded[previousIndex].Task;
                    previousRead = Task.WhenAny(read.Task, inferring);
                    if (modelReady is not null)
                    {
                        // The first slide's tiles are read while the model loads (its batches wait for it); the next
                        // slide is prepared and anything recorded only once it has loaded, and a model that cannot
                        // load fails the run, not this slide.
                        await AwaitModelAsync(modelReady, inferring).ConfigureAwait(false);
                        modelReady = null;
                    }
                    // The next slide's fixed work overlaps this one's inference (at most one slide ahead).
                    preparing = i + 1 < slides.Count ? Prepare(i + 1) : null;
                    previousOutcome = FinishAsync(index, prepared, clock, inferring, previousOutcome);
                    previousIndex = index;
                    outstanding.Add(previousOutcome);
                    _outcomes.Writer.TryWrite((index, clock, previousOutcome));
                }
            }
            finally
            {
                _outcomes.Writer.TryComplete();
                if (preparing is not null)
                {
                    // Stopped with the next slide prepared (or being prepared): close it, report nothing for it.
                    (await preparing.ConfigureAwait(false)).Prepared?.Dispose();
                }
                // Nothing is left running when this returns or throws: every started slide ends (each outcome is
                // written or failed, never throws from inference) before the recorder's error, if any, is rethrown.
                try
                {
                    await Task.WhenAll(outstanding).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // A slide's outcome faults only when reporting its progress threw: the recorder, which awaits
                    // every outcome in order, rethrows that error (or its own earlier one) just below.
                }
                await recorder.ConfigureAwait(false);
            }
            var cancelled = _summaries.Any(s => s.Status == SlideSummary.Cancelled) || (stopped && cancellationToken.IsCancellationRequested);
            return (_summaries, cancelled);
        }

        /// <summary>
        /// Waits for the model to load; when it cannot, waits for the slide already started (its batches fail with
        /// the same error) and throws the model's error. Cancellation is left to the slide's own outcome.
        /// </summary>
        private async Task AwaitModelAsync(Task modelReady, Task started)
        {
            try
            {
                // The slide may end first (unreadable, or cancelled): then only cancellation ends the wait for the model.
                await Task.WhenAny(modelReady, started).ConfigureAwait(false);
                await modelReady.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!modelReady.IsCompleted && cancellationToken.IsCancellationRequested)
            {
                // Cancelled while the model loads: the slide's own outcome says so.
            }
            catch (Exception) when (modelReady.IsFaulted)
            {
                try
                {
                    await started.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The slide failed on the model's error (or its own): the model's is the one to report.
                }
                throw;
            }
        }

        /// <summary>
        /// A slide's inference outcome, then (once the slide before has been written: one slide written at a time)
        /// its outputs, on a thread of its own; never throws, failures become the slide's summary.
        /// </summary>
        private async Task<SlideSummary> FinishAsync(int index, PreparedSlide prepared, SlideClock clock, Task<InferredSlide> inferring, Task<SlideSummary>? before)
        {
            InferredSlide inferred;
            try
            {
                inferred = await inferring.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                clock.Stop();
                return new SlideSummary { Name = prepared.Paths.Name, Path = prepared.SlidePath, Status = SlideSummary.Cancelled, Seconds = Math.Round(clock.Seconds, 3), Error = "cancelled; the checkpoint is kept and a rerun resumes it" };
            }
            catch (Exception ex)
            {
                clock.Stop();
                return new SlideSummary { Name = prepared.Paths.Name, Path = prepared.SlidePath, Status = SlideSummary.Failed, RerunReason = prepared.RerunReason, Seconds = Math.Round(clock.Seconds, 3), Error = Describe(ex) };
            }
            clock.Stop();
            if (before is not null)
            {
                await before.ConfigureAwait(false);
            }
            var tiles = inferred.Plan.Tiles.Count;
            Report(index, SlidePhase.Writing, tiles, tiles, tiles - inferred.Resumed, clock);
            return await Task.Factory.StartNew(() =>
            {
                clock.Start();
                try
                {
                    return runner.Write(inferred);
                }
                catch (Exception ex)
                {
                    return new SlideSummary { Name = prepared.Paths.Name, Path = prepared.SlidePath, Status = SlideSummary.Failed, RerunReason = prepared.RerunReason, Seconds = Math.Round(clock.Seconds, 3), Error = Describe(ex) };
                }
                finally
                {
                    clock.Stop();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }

        /// <summary>Records each slide's summary in slide order as soon as it is known: the list, run.json, the terminal progress event.</summary>
        private async Task RecordAsync()
        {
            await foreach (var (index, clock, outcome) in _outcomes.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                var summary = await outcome.ConfigureAwait(false);
                _summaries.Add(summary);
                report.Write(_summaries, slides.Count);
                var phase = summary.Status switch
                {
                    SlideSummary.Completed => SlidePhase.Done,
                    SlideSummary.Skipped => SlidePhase.Skipped,
                    SlideSummary.Cancelled => SlidePhase.Cancelled,
                    _ => SlidePhase.Failed,
                };
                var (done, total, ran) = phase is SlidePhase.Done or SlidePhase.Skipped ? (summary.Tiles, summary.Tiles, summary.TilesRun) : (0, 0, 0);
                Report(index, phase, done, total, ran, clock);
                _recorded[index].TrySetResult();
            }
        }

        /// <summary>Checks slide <paramref name="index"/> for finished results, else opens, detects and plans it, on a thread of its own.</summary>
        private Task<Step> Prepare(int index) => Task.Factory.StartNew(() =>
        {
            var path = slides[index];
            var name = SlideInputs.NameOf(path);
            var clock = new SlideClock();
            string? rerunReason = null;
            if (cancellationToken.IsCancellationRequested)
            {
                return new Step(index, clock, null, null, Cancelled: false);
            }
            try
            {
                (var previous, rerunReason) = run.Finished(path, new SlideOutputPaths(outDir, name), checkpoints);
                if (previous is not null)
                {
                    return new Step(index, clock, null, previous with { Status = SlideSummary.Skipped, TilesRun = 0, RerunReason = null }, Cancelled: false);
                }
                clock.Start();
                Report(index, SlidePhase.Opening, 0, 0, 0, clock);
                var prepared = runner.Prepare(path, new SlideOutputPaths(outDir, name), checkpoints, rerunReason, cancellationToken);
                clock.Stop();
                return new Step(index, clock, prepared, null, Cancelled: false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                clock.Stop();
                return new Step(index, clock, null, new SlideSummary { Name = name, Path = path, Status = SlideSummary.Cancelled, Seconds = Math.Round(clock.Seconds, 3), Error = "cancelled; the checkpoint is kept and a rerun resumes it" }, Cancelled: true);
            }
            catch (Exception ex)
            {
                clock.Stop();
                return new Step(index, clock, null, new SlideSummary { Name = name, Path = path, Status = SlideSummary.Failed, RerunReason = rerunReason, Seconds = Math.Round(clock.Seconds, 3), Error = Describe(ex) }, Cancelled: false);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        private void Report(int index, SlidePhase phase, int done, int total, int thisRun, SlideClock clock) =>
            progress?.Invoke(new SlideProgress(SlideInputs.NameOf(slides[index]), index, slides.Count, phase, done, total, thisRun, clock.Seconds, (long)run._io.TileSize * run._io.TileSize));
    }

    /// <summary>A slide's own time: running while it is prepared, inferred or written, stopped while it waits for a neighbour.</summary>
    private sealed class SlideClock
    {
        private readonly Stopwatch _watch = new();

        public double Seconds => _watch.Elapsed.TotalSeconds;

        public void Start() => _watch.Start();

        public void Stop() => _watch.Stop();
    }

    private static string Describe(Exception ex) => Slides.UrlRedaction.Redact(DescribeRaw(ex));

    private static string DescribeRaw(Exception ex) =>
        (ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex) switch
        {
            Slides.SlideException s => s.Message,
            var e when e is IOException or UnauthorizedAccessException or PipelineConfigException => e.Message,
            var e => $"{e.Message} ({e.GetType().Name})",
        };

    /// <summary>
    /// The earlier summary when the slide's outputs are complete and were written with these settings from the same
    /// slide and content; else null, with the reason when there were complete results that are not reused.
    /// </summary>
    private (SlideSummary? Summary, string? RerunReason) Finished(string slidePath, SlideOutputPaths paths, string checkpoints) =>
        Finished(slidePath, Path.Combine(checkpoints, paths.Name + ".state.json"), output => File.Exists(Path.Combine(paths.Directory, output)));

    /// <summary>
    /// The earlier summary of <paramref name="slide"/>, marked skipped, when its outputs are complete in a place this
    /// run does not write itself, such as the object-store prefix a worker uploaded them to: <paramref name="stateFile"/>
    /// (a local copy of that place's <c>.histoscale/NAME.state.json</c>) says the slide completed with these
    /// <see cref="Settings"/>, from the same slide path and the same content identity (asked of the slide's source now,
    /// one metadata request), and <paramref name="outputExists"/> holds for every output file name it lists. Else null.
    /// The same test a run makes before it skips a slide in its own output folder.
    /// </summary>
    /// <param name="slide">The slide's path or URI, as it would be run.</param>
    /// <param name="stateFile">A local copy of the slide's state file; a missing or unreadable file means not complete.</param>
    /// <param name="outputExists">Whether an output (a file name relative to the outputs' folder or prefix) is there.</param>
    public SlideSummary? CompletedEarlier(string slide, string stateFile, Func<string, bool> outputExists)
    {
        ArgumentNullException.ThrowIfNull(outputExists);
        var (previous, _) = Finished(slide, stateFile, outputExists);
        return previous is null ? null : previous with { Status = SlideSummary.Skipped, TilesRun = 0, RerunReason = null };
    }

    private (SlideSummary? Summary, string? RerunReason) Finished(string slidePath, string statePath, Func<string, bool> outputExists)
    {
        var state = SlideState.TryLoad(statePath);
        if (state is not { Status: "complete", Summary: { } summary })
        {
            return (null, null);
        }
        if (state.Settings != Settings)
        {
            return (null, $"model or settings changed (settings key {state.Settings} → {Settings})");
        }
        if (state.Slide != slidePath)
        {
            return (null, $"the earlier results under this name are of {state.Slide}");
        }
        var missing = (summary.Outputs ?? []).Where(o => !outputExists(o)).ToList();
        if (missing.Count > 0)
        {
            return (null, $"outputs missing: {string.Join(", ", missing)}");
        }
        SourceIdentity? now;
        try
        {
            now = ByteSources.Identify(slidePath, _options.Slides.Sources);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, null); // unreachable or unreadable now: running it reports why, as for any slide
        }
        return SourceIdentity.Difference(state.Identity, now) is { } reason ? (null, reason) : (summary, null);
    }

    private static void EnsureWritable(string outDir, string checkpoints)
    {
        try
        {
            Directory.CreateDirectory(outDir);
            Directory.CreateDirectory(checkpoints);
            var probe = Path.Combine(checkpoints, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PipelineConfigException($"{outDir}: output folder is not writable ({ex.Message})", ex);
        }
    }

    /// <summary>RunOptions' default <c>--max-bad-tiles</c> fraction: the settings key leaves it out.</summary>
    private const double DefaultMaxBadTileFraction = 0.01;

    private string SettingsKey()
    {
        var inv = CultureInfo.InvariantCulture;
        // A local model file's size and date tell a changed model apart; a served model is known by name and version.
        var model = new FileInfo(_model.ModelPath);
        var identity = model.Exists ? $"{model.Length.ToString(inv)}|{model.LastWriteTimeUtc.Ticks.ToString(inv)}" : _model.ModelPath;
        var p = _model.Parameters;
        var text = string.Join('|',
            _model.Name, _model.Version.ToString(inv), identity,
            _io.TileSize.ToString(inv), (_options.TargetMpp ?? p.Mpp ?? TilePlanOptions.DefaultMpp).ToString("R", inv),
            _options.Overlap.ToString(inv), _options.DetectTissue ? _options.MinTissue.ToString("R", inv) : "all",
            InvariantText.Of(_options.Tissue), _options.Threshold.ToString("R", inv),
            string.Join(',', p.Mean.Select(v => v.ToString(inv))), string.Join(',', p.Std.Select(v => v.ToString(inv))), p.ChannelOrder, _model.Layout, p.OutputKind,
            string.Join(',', p.ClassNames), string.Join(',', p.ClassColors), _model.PrimaryOutput.Name);
        if (_options.MaxBadTiles is not null || _options.MaxBadTileFraction != DefaultMaxBadTileFraction)
        {
            // A completed slide met the limit it ran under; a stricter (or looser) limit re-checks it by running it.
            // Only when not the default, so runs under the default keep the key (and the finished slides) they had.
            text += "|" + (_options.MaxBadTiles is { } badTiles ? badTiles.ToString(inv) : _options.MaxBadTileFraction.ToString("R", inv) + "f");
        }
        if (_options.Stain is { } stain)
        {
            // Only with normalisation: a run without it keeps the key (and so the checkpoints) it always had.
            text += "|" + stain.Key;
        }
        if (_options.Quality is { } qc)
        {
            // Only with --qc, so runs without it keep their settings key (and their finished slides).
            text += "|qc:" + qc.Key();
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}
