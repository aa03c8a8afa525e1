using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Histoscale.Archive.Annotations;
using Histoscale.Archive.Data;
using Histoscale.Inference.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Runs;

namespace Histoscale.Archive.Jobs;

/// <summary>
/// Runs model jobs inside the archive's process: a queue of job ids, <see cref="ArchiveJobOptions.Concurrency"/>
/// loops taking from it, each job run slide by slide with <see cref="InferenceRun"/> (what <c>infer</c> runs) into
/// <c>RESULTS/COLLECTION/FOLDER/</c>, the slide's place, so the next scan serves its heatmap as an overlay of that
/// slide; its DSA annotation (NAME.annotation.json) is stored as an annotation of the slide. State and progress are
/// in the database: jobs a stopped or killed process left queued or running are queued again at start and resume
/// from infer's checkpoints.
/// </summary>
internal sealed class JobRunner : IAsyncDisposable
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    private readonly SlideArchive _archive;
    private readonly ArchiveJobOptions _options;
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, LiveJob> _live = new(StringComparer.Ordinal);
    // One run at a time per slide output (RESULTS/COLLECTION/FOLDER/NAME): two jobs of a slide would write the same
    // heatmap, checkpoints and records. A lock per slide output while jobs use it, removed (and disposed) when the
    // last of them lets go, so a long-running server does not keep one per slide it ever ran. Guarded by itself.
    private readonly Dictionary<string, SlideLock> _slideLocks = new(StringComparer.Ordinal);
    // Count and insert of a submit, together, so the queue limit holds under concurrent submits.
    private readonly SemaphoreSlim _submitting = new(1, 1);
    private int _slideWaits;
    private Task[] _loops = [];

    /// <summary>One slide output's lock and how many jobs hold or wait for it.</summary>
    private sealed class SlideLock
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Users;
    }

    /// <summary>A running job's cancellation and its progress since the last database write.</summary>
    internal sealed class LiveJob(CancellationTokenSource cancel)
    {
        public CancellationTokenSource Cancel { get; } = cancel;

        public int SlidesDone;
        public long TilesDone;
        public long TilesTotal;
    }

    private JobRunner(SlideArchive archive, ArchiveJobOptions options)
    {
        _archive = archive;
        _options = options;
    }

    /// <summary>Jobs the previous process left unfinished, queued again by this start.</summary>
    public int Resumed { get; private set; }

    /// <summary>How many times a job waited for another job's run of the same slide (tests observe it).</summary>
    internal int SlideWaits => Volatile.Read(ref _slideWaits);

    /// <summary>Slide-output locks held now: one per slide a job is running or waiting for (tests observe that they are freed).</summary>
    internal int SlideLockCount
    {
        get
        {
            lock (_slideLocks)
            {
                return _slideLocks.Count;
            }
        }
    }

    private SlideLock EnterSlideLock(string key)
    {
        lock (_slideLocks)
        {
            if (!_slideLocks.TryGetValue(key, out var entry))
            {
                _slideLocks[key] = entry = new SlideLock();
            }
            entry.Users++;
            return entry;
        }
    }

    private void LeaveSlideLock(string key, SlideLock entry)
    {
        lock (_slideLocks)
        {
            if (--entry.Users == 0)
            {
                _slideLocks.Remove(key);
                entry.Gate.Dispose();
            }
        }
    }

    public static async Task<JobRunner> StartAsync(SlideArchive archive, ArchiveJobOptions options, CancellationToken ct)
    {
        if (options.Concurrency < 1)
        {
            throw new ArgumentException($"job concurrency must be at least 1, not {options.Concurrency}", nameof(options));
        }
        if (options.QueueLimit < 1)
        {
            throw new ArgumentException($"job queue limit must be at least 1, not {options.QueueLimit}", nameof(options));
        }
        var runner = new JobRunner(archive, options);
        foreach (var job in await archive.Repository.UnfinishedJobsAsync(ct).ConfigureAwait(false))
        {
            await archive.Repository.SetJobStateAsync(job.Id, Queued, [Queued, Running], null, ct).ConfigureAwait(false);
            runner._queue.Writer.TryWrite(job.Id);
            runner.Resumed++;
        }
        runner._loops = [.. Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(runner.LoopAsync))];
        return runner;
    }

    /// <summary>Stores and queues the job; null when <see cref="ArchiveJobOptions.QueueLimit"/> jobs are already queued or running.</summary>
    public async Task<JobRecord?> SubmitAsync(JobRequest request, IReadOnlyList<string> collections, CancellationToken ct)
    {
        await _submitting.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (await _archive.Repository.CountUnfinishedJobsAsync(ct).ConfigureAwait(false) >= _options.QueueLimit)
            {
                return null;
            }
            var record = await _archive.Repository.CreateJobAsync(request.Model, request.ToString(), collections, request.SlideIds.Count, ct).ConfigureAwait(false);
            _queue.Writer.TryWrite(record.Id);
            return record;
        }
        finally
        {
            _submitting.Release();
        }
    }

    /// <summary>Most jobs queued or running at once.</summary>
    public int QueueLimit => _options.QueueLimit;

    /// <summary>Cancels a queued or running job; false when it had already ended.</summary>
    public async Task<bool> CancelAsync(string id, CancellationToken ct)
    {
        var changed = await _archive.Repository.SetJobStateAsync(id, Cancelled, [Queued, Running], "cancelled by a client", ct).ConfigureAwait(false);
        if (_live.TryGetValue(id, out var live))
        {
            await live.Cancel.CancelAsync().ConfigureAwait(false);
        }
        return changed;
    }

    /// <summary>The running job's progress, newer than the database's; null when it is not running here.</summary>
    public LiveJob? Live(string id) => _live.TryGetValue(id, out var live) ? live : null;

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var id in _queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    await RunAsync(id).ConfigureAwait(false);
                }
                catch (Exception ex) when (!_stopping.IsCancellationRequested)
                {
                    // The database failed under the job (its own failures are caught inside): record it if possible, keep serving the queue.
                    try
                    {
                        await _archive.Repository.SetJobStateAsync(id, Failed, [Queued, Running], ex.Message, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception again) when (again is System.Data.Common.DbException or InvalidOperationException or IOException)
                    {
                        // Still failing: the next start finds the job unfinished and runs it again.
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: jobs not finished stay queued or running in the database and resume at the next start.
        }
    }

    private async Task RunAsync(string id)
    {
        var repository = _archive.Repository;
        var record = await repository.GetJobAsync(id, _stopping.Token).ConfigureAwait(false);
        if (record is not { State: Queued })
        {
            return;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var live = new LiveJob(cancel);
        // Registered before the state changes, so a cancel that sees "running" finds the token to cancel.
        _live[id] = live;
        try
        {
            if (!await repository.SetJobStateAsync(id, Running, [Queued], null, _stopping.Token).ConfigureAwait(false))
            {
                return;
            }
            string? error;
            try
            {
                error = await ExecuteAsync(record, JobRequest.Parse(JsonNode.Parse(record.Request)), live, cancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                error = null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                error = ex.Message;
            }
            await repository.SetJobProgressAsync(id, live.SlidesDone, live.TilesDone, live.TilesTotal, CancellationToken.None).ConfigureAwait(false);
            if (_stopping.IsCancellationRequested || cancel.IsCancellationRequested)
            {
                // Cancelled by a client (the state says so already) or stopping (left running: the next start resumes it).
                return;
            }
            await repository.SetJobStateAsync(id, error is null ? Completed : Failed, [Running], error, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _live.TryRemove(id, out _);
        }
    }

    /// <summary>Runs the job's slides; returns null when every slide completed, else what failed.</summary>
    private async Task<string?> ExecuteAsync(JobRecord record, JobRequest request, LiveJob live, CancellationToken ct)
    {
        var options = _archive.Options;
        var repositoryRoot = options.ModelRepository ?? throw new InvalidOperationException("the server has no model repository");
        var results = options.ResultsDirectory ?? throw new InvalidOperationException("the server has no results folder");
        ModelDescription description;
        try
        {
            description = ModelDescription.FromRepository(RepositoryModel.Load(Path.Combine(repositoryRoot, request.Model)), request.Version,
                new ModelOverrides { TileSize = request.TileSize, MaxBatchSize = request.Batch });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return $"model '{request.Model}': {ex.Message}";
        }
        var batch = description.MaxBatchSize > 0 ? Math.Min(request.Batch, description.MaxBatchSize) : request.Batch;
        await using var backend = _options.Backends(description, batch);
        await using var batcher = new DynamicBatcher(backend, BatcherOptions.FromConfig(description.Config) with { MaxBatchSize = batch, MaxQueueSize = 0 });
        var failures = new List<string>();
        var collections = new HashSet<string>(StringComparer.Ordinal);
        long tilesBefore = 0;
        foreach (var slideId in request.SlideIds)
        {
            ct.ThrowIfCancellationRequested();
            if (!_archive.Catalog.TryGet(slideId, out var slide))
            {
                failures.Add($"slide {slideId}: no longer served");
                live.SlidesDone++;
                continue;
            }
            var root = options.Collections.First(c => c.Name == slide.Collection).Root;
            var input = Path.GetFullPath(Path.Combine(root, slide.RelativePath));
            var folder = slide.RelativePath.Contains('/', StringComparison.Ordinal) ? slide.RelativePath[..slide.RelativePath.LastIndexOf('/')] : "";
            var outDir = Path.Combine(results, slide.Collection, folder);
            var name = SlideInputs.NameOf(input);
            var run = new InferenceRun(description, batcher, new RunOptions
            {
                OutputDirectory = outDir,
                ReportPath = Path.Combine(outDir, InferenceRun.CheckpointFolder, name + ".run.json"),
                Slides = options.SlideOptions,
                TargetMpp = request.Mpp,
                Overlap = request.Overlap,
                MinTissue = request.MinTissue,
                DetectTissue = request.DetectTissue,
                Threshold = request.Threshold,
                Pipeline = new Pipeline.Execution.PipelineOptions { BatchSize = batch },
                Environment = new Dictionary<string, object?>(_options.Environment) { ["job"] = record.Id },
            });
            var before = tilesBefore;
            var lockKey = Path.Combine(outDir, name);
            var slideLock = EnterSlideLock(lockKey);
            RunSummary summary;
            try
            {
                if (!slideLock.Gate.Wait(0))
                {
                    // Another job is running this slide into the same files: this one waits for it, then resumes from its checkpoint.
                    Interlocked.Increment(ref _slideWaits);
                    await slideLock.Gate.WaitAsync(ct).ConfigureAwait(false);
                }
                try
                {
                    summary = await run.RunAsync([input], p =>
                    {
                        Volatile.Write(ref live.TilesDone, before + p.TilesDone);
                        Volatile.Write(ref live.TilesTotal, before + p.TilesTotal);
                    }, ct).ConfigureAwait(false);
                }
                finally
                {
                    slideLock.Gate.Release();
                }
            }
            finally
            {
                LeaveSlideLock(lockKey, slideLock);
            }
            if (summary.Cancelled)
            {
                ct.ThrowIfCancellationRequested();
            }
            var outcome = summary.Slides[0];
            tilesBefore += outcome.Tiles;
            live.TilesDone = live.TilesTotal = tilesBefore;
            live.SlidesDone++;
            if (outcome.Status == SlideSummary.Failed || outcome.Status == SlideSummary.Cancelled)
            {
                failures.Add($"{slide.Collection}/{slide.RelativePath}: {outcome.Error}");
            }
            else
            {
                collections.Add(slide.Collection);
                await StoreAnnotationAsync(record, slide.Id, Path.Combine(outDir, name + ".annotation.json"), request.Model, ct).ConfigureAwait(false);
            }
            await _archive.Repository.SetJobProgressAsync(record.Id, live.SlidesDone, live.TilesDone, live.TilesTotal, ct).ConfigureAwait(false);
        }
        if (collections.Count > 0)
        {
            // The new heatmaps become overlays of their slides.
            await Task.Run(() => _archive.Catalog.Scan(collections), CancellationToken.None).ConfigureAwait(false);
        }
        return failures.Count == 0 ? null : string.Join("; ", failures);
    }

    /// <summary>infer's DSA document of the slide becomes an annotation of it, named after the model and the job.</summary>
    private async Task StoreAnnotationAsync(JobRecord record, string slideId, string file, string model, CancellationToken ct)
    {
        if (!File.Exists(file))
        {
            return;
        }
        var name = $"{model} (job {record.Id})";
        // A resumed job finds the slides it had done skipped; their annotation is stored already.
        var existing = await _archive.Repository.ListAnnotationsAsync(slideId, ct).ConfigureAwait(false);
        if (existing.Any(a => a.Name == name))
        {
            return;
        }
        var node = JsonNode.Parse(await File.ReadAllTextAsync(file, ct).ConfigureAwait(false));
        if (node is JsonObject document)
        {
            document["name"] = name;
        }
        var parsed = DsaDocument.Parse(node);
        await _archive.Repository.CreateAnnotationAsync(slideId, parsed.Name, parsed.Document.ToJsonString(), parsed.Elements, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while a database call was waiting.
        }
        _stopping.Dispose();
        _submitting.Dispose();
        lock (_slideLocks)
        {
            foreach (var slideLock in _slideLocks.Values)
            {
                slideLock.Gate.Dispose();
            }
            _slideLocks.Clear();
        }
    }
}
