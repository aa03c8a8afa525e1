using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
/// Runs a model over many slides into one output folder. Slides run one after another (each uses the whole
/// machine); a slide finished by an earlier run with the same settings and the same content identity (size plus
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
        _io = new ModelIo(model, tileSize);
        _packer = new TensorPacker(model, tileSize);
        Settings = SettingsKey();
    }

    /// <summary>Hash of the model file and every setting that changes outputs; a state with another key is rerun.</summary>
    public string Settings { get; }

    /// <summary>
    /// Runs every slide in turn, writing its outputs and run.json after each. A slide that fails is reported in its
    /// <see cref="SlideSummary"/> and the run goes on; a slide finished by an earlier run with the same
    /// <see cref="Settings"/> is skipped; cancellation stops after the current slide, keeping its checkpoint for a resume.
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
        var summaries = new List<SlideSummary>();
        var cancelled = false;
        for (var i = 0; i < slides.Count; i++)
        {
            var path = slides[i];
            var name = SlideInputs.NameOf(path);
            var paths = new SlideOutputPaths(outDir, name);
            var index = i;
            var clock = Stopwatch.StartNew();
            void Report(SlidePhase phase, int done, int total, int thisRun) =>
                progress?.Invoke(new SlideProgress(name, index, slides.Count, phase, done, total, thisRun, clock.Elapsed.TotalSeconds, (long)_io.TileSize * _io.TileSize));

            if (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
            var (previous, rerunReason) = Finished(path, paths, checkpoints);
            if (previous is not null)
            {
                summaries.Add(previous with { Status = SlideSummary.Skipped, TilesRun = 0, RerunReason = null });
                Report(SlidePhase.Skipped, previous.Tiles, previous.Tiles, 0);
                report.Write(summaries, slides.Count);
                continue;
            }
            Report(SlidePhase.Opening, 0, 0, 0);
            try
            {
                // Synchronous stages run on dedicated threads; keep the caller's context free.
                var summary = await Task.Run(() => runner.Run(path, paths, checkpoints, rerunReason, (p, d, t, r) => Report(p, d, t, r), cancellationToken), CancellationToken.None).ConfigureAwait(false);
                summaries.Add(summary);
                Report(SlidePhase.Done, summary.Tiles, summary.Tiles, summary.TilesRun);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                summaries.Add(new SlideSummary { Name = name, Path = path, Status = SlideSummary.Cancelled, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3), Error = "cancelled; the checkpoint is kept and a rerun resumes it" });
                Report(SlidePhase.Cancelled, 0, 0, 0);
                cancelled = true;
            }
            catch (Exception ex)
            {
                summaries.Add(new SlideSummary { Name = name, Path = path, Status = SlideSummary.Failed, RerunReason = rerunReason, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3), Error = Describe(ex) });
                Report(SlidePhase.Failed, 0, 0, 0);
            }
            report.Write(summaries, slides.Count);
            if (cancelled)
            {
                break;
            }
        }
        report.Write(summaries, slides.Count);
        return new RunSummary(summaries, cancelled, report.Path);
    }

    private static string Describe(Exception ex) =>
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
    private (SlideSummary? Summary, string? RerunReason) Finished(string slidePath, SlideOutputPaths paths, string checkpoints)
    {
        var state = SlideState.TryLoad(Path.Combine(checkpoints, paths.Name + ".state.json"));
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
        var missing = (summary.Outputs ?? []).Where(o => !File.Exists(Path.Combine(paths.Directory, o))).ToList();
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
            _options.Tissue.ToString(), _options.Threshold.ToString("R", inv),
            string.Join(',', p.Mean), string.Join(',', p.Std), p.ChannelOrder, _model.Layout, p.OutputKind,
            string.Join(',', p.ClassNames), string.Join(',', p.ClassColors), _model.PrimaryOutput.Name);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}
