using System.Diagnostics;
using Histoscale.Inference.Models;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Runs;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Jobs;
using Prometheus;

namespace Histoscale.Workers.Running;

/// <summary>
/// Takes slide jobs from a queue and runs each through <see cref="InferenceRun"/> into the job's output folder, as
/// <c>infer</c> runs a slide: the same outputs, the same checkpoint (so a job delivered again after its worker died
/// resumes where the checkpoint stands, and a slide already complete there is not run again). Settles every job: a
/// completed one is removed, a failed one goes back for another attempt until <see cref="WorkerOptions.MaxAttempts"/>
/// and then to the dead-letter queue with its last error, a malformed message goes there at once with the reason.
/// When the token passed to <see cref="RunAsync"/> fires, no job is taken any more; the jobs in hand get
/// <see cref="WorkerOptions.Grace"/> to finish, and are then cancelled (checkpoint kept) and returned to the queue.
/// </summary>
public sealed class SlideWorker
{
    private readonly IJobQueue _queue;
    private readonly JobModelLoader _loader;
    private readonly WorkerOptions _options;
    private readonly TextWriter _log;
    private readonly WorkerMetrics _metrics = new();
    private readonly Dictionary<string, Task<LoadedModel>> _models = [];
    private readonly Lock _gate = new();
    private int _completed;
    private int _failed;
    private int _deadLettered;
    private int _returned;

    /// <summary>Creates a worker; nothing is taken before <see cref="RunAsync"/>.</summary>
    /// <param name="queue">Where jobs come from (not disposed by the worker).</param>
    /// <param name="loader">Loads the model a job names, as the host runs models.</param>
    /// <param name="options">Concurrency, attempts, grace, metrics port, how slides are opened.</param>
    /// <param name="log">One line per job event (taken, completed, failed, dead-lettered, returned); null = none.</param>
    public SlideWorker(IJobQueue queue, JobModelLoader loader, WorkerOptions options, TextWriter? log = null)
    {
        options.Validate();
        _queue = queue;
        _loader = loader;
        _options = options;
        _log = log is null ? TextWriter.Null : TextWriter.Synchronized(log);
    }

    /// <summary>Takes and runs jobs until <paramref name="stop"/> fires or the worker has been idle for <see cref="WorkerOptions.IdleExit"/>.</summary>
    /// <exception cref="WorkerBrokerException">Taking a job failed <see cref="WorkerOptions.MaxBrokerErrors"/> times in a row (after the jobs in hand ended).</exception>
    public async Task<WorkerSummary> RunAsync(CancellationToken stop = default)
    {
        using var jobs = new CancellationTokenSource();
        using var background = new CancellationTokenSource();
        using var onStop = stop.Register(() =>
        {
            _log.WriteLine($"worker: stop requested; finishing the jobs in hand within {_options.Grace.TotalSeconds:0.#} s");
            jobs.CancelAfter(_options.Grace);
        });
        SweepStaleStaging();
        using var server = _options.MetricsPort is { } port ? new MetricServer("+", port, "metrics/", _metrics.Registry) : null;
        server?.Start();
        var pendingLoop = RefreshPendingAsync(background.Token);
        var running = new List<Task>();
        var idleSince = Stopwatch.StartNew();
        var brokerErrors = 0;
        var failingSince = Stopwatch.StartNew();
        Exception? brokerFailure = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                running.RemoveAll(t => t.IsCompleted);
                if (running.Count >= _options.SlidesInFlight)
                {
                    await Task.WhenAny(running).ConfigureAwait(false);
                    continue;
                }
                IJobDelivery? delivery;
                try
                {
                    delivery = await _queue.TakeAsync(stop).ConfigureAwait(false);
                    brokerErrors = 0;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A broker blip: keep the jobs in hand, back off, try again (the queue reconnects); after
                    // MaxBrokerErrors in a row, give up so the orchestrator restarts the worker.
                    if (brokerErrors == 0)
                    {
                        failingSince.Restart();
                    }
                    brokerErrors++;
                    if (brokerErrors >= _options.MaxBrokerErrors)
                    {
                        brokerFailure = new WorkerBrokerException(
                            $"cannot take jobs from {_queue.Name}: {brokerErrors} failures in a row over {failingSince.Elapsed.TotalSeconds:0} s (last: {OneLine(ex.Message)}); exiting so that the worker is restarted", ex);
                        _log.WriteLine($"worker: {brokerFailure.Message}");
                        break;
                    }
                    var wait = TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(brokerErrors, 5)) / 2));
                    _log.WriteLine($"worker: cannot take a job from {_queue.Name} ({OneLine(ex.Message)}); retrying in {wait.TotalSeconds:0.#} s");
                    await Delay(wait, stop).ConfigureAwait(false);
                    continue;
                }
                if (delivery is null)
                {
                    if (running.Count == 0 && _options.IdleExit is { } idle && idleSince.Elapsed >= idle)
                    {
                        _log.WriteLine($"worker: idle for {idle.TotalSeconds:0.#} s; exiting");
                        break;
                    }
                    if (running.Count > 0)
                    {
                        idleSince.Restart();
                    }
                    await Delay(_options.PollInterval, stop).ConfigureAwait(false);
                    continue;
                }
                idleSince.Restart();
                running.Add(Task.Run(() => RunJobAsync(delivery, jobs.Token), CancellationToken.None));
            }
            await Task.WhenAll(running).ConfigureAwait(false);
            if (brokerFailure is not null)
            {
                throw brokerFailure;
            }
        }
        finally
        {
            await background.CancelAsync().ConfigureAwait(false);
            await pendingLoop.ConfigureAwait(false);
            foreach (var model in _models.Values)
            {
                if (model.IsCompletedSuccessfully)
                {
                    await model.Result.DisposeAsync().ConfigureAwait(false);
                }
            }
            _models.Clear();
        }
        return new WorkerSummary(_completed, _failed, _deadLettered, _returned);
    }

    private async Task RunJobAsync(IJobDelivery delivery, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var outcome = await SettleAsync(delivery, cancel).ConfigureAwait(false);
        _metrics.JobSeconds.WithLabels(outcome).Observe(clock.Elapsed.TotalSeconds);
        _metrics.Jobs.WithLabels(outcome).Inc();
    }

    private async Task<string> SettleAsync(IJobDelivery delivery, CancellationToken cancel)
    {
        SlideJob job;
        try
        {
            job = SlideJob.Parse(delivery.Body.Span);
        }
        catch (JobFormatException ex)
        {
            var reason = $"malformed job message: {ex.Message}";
            _log.WriteLine($"worker: dead-lettered a message: {reason}");
            await SettleQuietly(() => delivery.DeadLetterAsync(reason)).ConfigureAwait(false);
            Interlocked.Increment(ref _deadLettered);
            return "dead_lettered";
        }
        catch (JobTooNewException ex)
        {
            // Not malformed: a newer worker runs it (a rolling upgrade, submitters upgraded before workers). Back to
            // the queue, where any worker may take it, bounded by --max-attempts like any failure.
            Interlocked.Increment(ref _failed);
            if (delivery.Attempt >= _options.MaxAttempts)
            {
                var reason = $"{ex.Message} (attempt {delivery.Attempt} of {_options.MaxAttempts}; after upgrading, `histoscale queue retry-dead` requeues it)";
                _log.WriteLine($"worker: dead-lettered a job message: {reason}");
                await SettleQuietly(() => delivery.DeadLetterAsync(reason)).ConfigureAwait(false);
                Interlocked.Increment(ref _deadLettered);
                return "dead_lettered";
            }
            _log.WriteLine($"worker: returned a job message to the queue for a newer worker: {ex.Message} (attempt {delivery.Attempt} of {_options.MaxAttempts})");
            await SettleQuietly(() => delivery.RetryAsync(ex.Message)).ConfigureAwait(false);
            return "failed";
        }
        var label = $"job {job.Id} ({job.Slide})";
        if (delivery.Attempt > _options.MaxAttempts)
        {
            var reason = $"delivered {delivery.Attempt} times, more than --max-attempts {_options.MaxAttempts}: its workers stopped or died before finishing it";
            _log.WriteLine($"worker: {label}: dead-lettered: {reason}");
            await SettleQuietly(() => delivery.DeadLetterAsync(reason)).ConfigureAwait(false);
            Interlocked.Increment(ref _deadLettered);
            DeleteStaging(job); // what an earlier attempt on this worker left
            return "dead_lettered";
        }

        _log.WriteLine($"worker: {label}: started (attempt {delivery.Attempt} of {_options.MaxAttempts})");
        _metrics.JobsInFlight.Inc();
        using var alive = new CancellationTokenSource();
        // Cancelled when the keep-alive finds the job taken over by another worker (this one stalled too long).
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var keepAlive = KeepAliveAsync(delivery, lost, alive.Token);
        string? error = null;
        var cancelled = false;
        try
        {
            var summary = await RunSlideAsync(job, label, lost.Token, cancel).ConfigureAwait(false);
            if (lost.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                throw new OperationCanceledException(lost.Token);
            }
            var slide = summary.Slides.Count > 0 ? summary.Slides[0] : null;
            if (summary.Cancelled || slide?.Status == SlideSummary.Cancelled)
            {
                cancelled = true;
            }
            else if (slide is null || slide.Status == SlideSummary.Failed)
            {
                error = slide?.Error ?? "the run reported no slide";
            }
            else
            {
                await alive.CancelAsync().ConfigureAwait(false);
                await keepAlive.ConfigureAwait(false);
                await SettleQuietly(() => delivery.CompleteAsync()).ConfigureAwait(false);
                Interlocked.Increment(ref _completed);
                _log.WriteLine(slide.Status == SlideSummary.Skipped
                    ? $"worker: {label}: already complete in its output (same settings and slide content, every output present); not run again"
                    : $"worker: {label}: {slide.Status}, {slide.Tiles} tiles ({slide.TilesResumed} resumed from the checkpoint)");
                return "completed";
            }
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            cancelled = true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = Describe(ex);
        }
        finally
        {
            _metrics.JobsInFlight.Dec();
            await alive.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }

        if (cancelled && lost.IsCancellationRequested && !cancel.IsCancellationRequested)
        {
            // Not ours any more: the broker gives it (has given it) to a worker that resumes from the checkpoint.
            _log.WriteLine($"worker: {label}: no longer this worker's (another worker claimed it after this one stalled past the visibility timeout, or the broker connection that delivered it was lost and the broker requeued it); stopped without settling it");
            return "lost";
        }
        if (cancelled)
        {
            await SettleQuietly(() => delivery.ReturnAsync()).ConfigureAwait(false);
            Interlocked.Increment(ref _returned);
            _log.WriteLine($"worker: {label}: not finished within the grace period; returned to the queue (its checkpoint is kept)");
            return "returned";
        }
        Interlocked.Increment(ref _failed);
        if (delivery.Attempt >= _options.MaxAttempts)
        {
            await SettleQuietly(() => delivery.DeadLetterAsync(error!)).ConfigureAwait(false);
            Interlocked.Increment(ref _deadLettered);
            DeleteStaging(job); // failed finally: no attempt will resume from it
            _log.WriteLine($"worker: {label}: failed (attempt {delivery.Attempt} of {_options.MaxAttempts}), dead-lettered: {error}");
            return "dead_lettered";
        }
        await SettleQuietly(() => delivery.RetryAsync(error!)).ConfigureAwait(false);
        _log.WriteLine($"worker: {label}: failed (attempt {delivery.Attempt} of {_options.MaxAttempts}), will be retried: {error}");
        return "failed";
    }

    /// <summary>Runs the job's slide into its output folder, or into a staging folder and then to its object-store prefix.</summary>
    /// <param name="job">The job.</param>
    /// <param name="label">How the log names the job.</param>
    /// <param name="cancel">Fires when the grace period ran out or the job is no longer this worker's.</param>
    /// <param name="stopping">Fires only when the grace period ran out (the job is then returned to the queue).</param>
    private async Task<RunSummary> RunSlideAsync(SlideJob job, string label, CancellationToken cancel, CancellationToken stopping)
    {
        if (!Histoscale.Storage.StorageUri.TryParse(job.Output, out _))
        {
            var model = await ModelFor(job, cancel).ConfigureAwait(false);
            return await RunJobSlideAsync(CreateRun(job, job.Output, model), job, cancel).ConfigureAwait(false);
        }
        // An object-store prefix: run into a local staging folder (named by the job, so a job delivered to this
        // worker again resumes from its checkpoint there), then upload each finished file with one committed
        // write; nothing half-written ever appears under a final name. The checkpoint is also kept at the output
        // (PREFIX/.histoscale/), uploaded every CheckpointInterval and when the grace period runs out, so that a
        // job redelivered to another worker resumes it; a slide already complete there is not run again.
        var stores = _options.ObjectStores ?? throw new InvalidOperationException($"output {job.Output}: this worker has no object store configured");
        var staging = StagingPath(job);
        Directory.CreateDirectory(staging);
        var prefix = job.Output.EndsWith('/') ? job.Output : job.Output + "/";
        var loaded = await ModelFor(job, cancel).ConfigureAwait(false);
        var run = CreateRun(job, staging, loaded);
        var checkpoint = new RemoteCheckpoint(stores, prefix, SlideInputs.NameOf(job.Slide), staging, label, _log);
        SlideSummary? earlier;
        try
        {
            earlier = await checkpoint.FetchAsync(run, job.Slide, cancel).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            throw new IOException($"output {prefix}: its checkpoint and completion record could not be read: {OneLine(ex.Message)}", ex);
        }
        if (earlier is not null)
        {
            DeleteStaging(job);
            return new RunSummary([earlier], false, checkpoint.RemoteReport);
        }

        using var uploads = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var uploader = checkpoint.UploadEveryAsync(_options.CheckpointInterval, uploads.Token);
        RunSummary summary;
        try
        {
            summary = await RunJobSlideAsync(run, job, cancel).ConfigureAwait(false);
        }
        finally
        {
            await uploads.CancelAsync().ConfigureAwait(false);
            await uploader.ConfigureAwait(false);
            if (stopping.IsCancellationRequested)
            {
                // The grace period ran out: the job goes back to the queue, and whichever worker takes it resumes from
                // the output. Bounded, since the process is about to exit (its termination timeout is the grace + 30 s).
                using var limit = new CancellationTokenSource(ReturnUploadLimit);
                if (await checkpoint.UploadAsync(limit.Token).ConfigureAwait(false))
                {
                    _log.WriteLine($"worker: {label}: checkpoint uploaded to {checkpoint.RemoteResults}");
                }
            }
        }
        var slide = summary.Slides.Count > 0 ? summary.Slides[0] : null;
        if (summary.Cancelled || slide is null || slide.Status is SlideSummary.Failed or SlideSummary.Cancelled)
        {
            return summary;
        }
        // The outputs first, then the report, then the state: the state that says complete is the commit, so a
        // worker that dies half-way leaves a slide the next delivery runs (resuming) rather than skips.
        var files = Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories)
            .Select(file => (File: file, Relative: Path.GetRelativePath(staging, file).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => !f.Relative.EndsWith(".partial", StringComparison.Ordinal) && !f.Relative.EndsWith(".results.bin", StringComparison.Ordinal)) // unfinished files and the local checkpoint
            .OrderBy(f => f.Relative.StartsWith(InferenceRun.CheckpointFolder + "/", StringComparison.Ordinal) ? (f.Relative.EndsWith(".state.json", StringComparison.Ordinal) ? 2 : 1) : 0)
            .ThenBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
        foreach (var (file, relative) in files)
        {
            try
            {
                await stores.UploadFileAsync(prefix + relative, file, cancel).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                throw new IOException($"output {prefix + relative} could not be written: {ex.Message}", ex);
            }
        }
        // Everything is committed: the job has succeeded whether or not its checkpoint at the output and its staging
        // folder can be removed (both are logged; a later job for this slide removes a checkpoint left at the output).
        await checkpoint.DeleteRemoteAsync(cancel).ConfigureAwait(false);
        DeleteStaging(job);
        return summary;
    }

    /// <summary>How long the checkpoint upload may take when a job is returned after its grace period.</summary>
    private static readonly TimeSpan ReturnUploadLimit = TimeSpan.FromSeconds(20);

    private string StagingRoot => Path.Combine(_options.StagingDirectory ?? Path.GetTempPath(), "histoscale-staging");

    private string StagingPath(SlideJob job) => Path.Combine(StagingRoot, StagingName(job));

    /// <summary>
    /// Removes a job's local staging folder (object-store outputs only), best-effort: kept when the job is returned
    /// or will be retried (an attempt on this worker resumes from its checkpoint), removed once the job is complete,
    /// dead-lettered or failed finally.
    /// </summary>
    private void DeleteStaging(SlideJob job)
    {
        if (!Histoscale.Storage.StorageUri.TryParse(job.Output, out _))
        {
            return;
        }
        var staging = StagingPath(job);
        try
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.WriteLine($"worker: could not remove the staging folder {staging} ({OneLine(ex.Message)}); a worker starting later removes it once it is a day old");
        }
    }

    /// <summary>Staging folders nothing has written to for this long are left over (a job lost, retried elsewhere, a crash) and removed at start.</summary>
    internal static readonly TimeSpan StaleStagingAge = TimeSpan.FromDays(1);

    /// <summary>Removes staging folders whose newest file (or the folder itself) was written more than <see cref="StaleStagingAge"/> ago.</summary>
    private void SweepStaleStaging()
    {
        var root = StagingRoot;
        if (!Directory.Exists(root))
        {
            return;
        }
        var cutoff = DateTime.UtcNow - StaleStagingAge;
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            try
            {
                var newest = Directory.GetLastWriteTimeUtc(folder);
                foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
                {
                    var written = File.GetLastWriteTimeUtc(entry);
                    if (written > newest)
                    {
                        newest = written;
                    }
                }
                if (newest < cutoff)
                {
                    Directory.Delete(folder, recursive: true);
                    _log.WriteLine($"worker: removed the stale staging folder {folder} (untouched since {newest:u})");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.WriteLine($"worker: could not remove the stale staging folder {folder} ({OneLine(ex.Message)})");
            }
        }
    }

    private static string StagingName(SlideJob job) =>
        string.Concat(job.Id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')) + "-" + SlideInputs.NameOf(job.Slide);

    private InferenceRun CreateRun(SlideJob job, string output, LoadedModel model)
    {
        var p = job.Parameters;
        var name = SlideInputs.NameOf(job.Slide);
        var environment = new Dictionary<string, object?>(_options.Environment)
        {
            ["job"] = job.Id,
            ["batch"] = job.BatchId,
        };
        var options = new RunOptions
        {
            OutputDirectory = output,
            // One report per slide: workers share the output folder and would overwrite each other's run.json.
            ReportPath = Path.Combine(output, InferenceRun.CheckpointFolder, name + ".run.json"),
            Slides = _options.Slides,
            TargetMpp = p.Mpp,
            Overlap = p.Overlap,
            MinTissue = p.MinTissue,
            DetectTissue = p.DetectTissue,
            Threshold = p.Threshold,
            MaxBadTiles = p.MaxBadTiles,
            MaxBadTileFraction = p.MaxBadTileFraction,
            Quality = p.Qc?.ToOptions(),
            Stain = p.ToStainNormalization(),
            Pipeline = new PipelineOptions { BatchSize = p.Batch, ReadWorkers = _options.ReadWorkers },
            Environment = environment,
        };
        return new InferenceRun(model.Model.Description, model.Batcher, options);
    }

    private async Task<RunSummary> RunJobSlideAsync(InferenceRun run, SlideJob job, CancellationToken cancel)
    {
        var counted = 0;
        return await run.RunAsync([job.Slide], progress =>
        {
            // Tiles inferred in this run only; progress comes from pipeline threads.
            var now = progress.TilesThisRun;
            var before = Interlocked.Exchange(ref counted, Math.Max(now, Volatile.Read(ref counted)));
            if (now > before)
            {
                _metrics.Tiles.Inc(now - before);
            }
        }, cancel).ConfigureAwait(false);
    }

    private async Task<LoadedModel> ModelFor(SlideJob job, CancellationToken cancel)
    {
        var key = JobModel.KeyOf(job);
        Task<LoadedModel> task;
        lock (_gate)
        {
            if (!_models.TryGetValue(key, out task!) || task.IsFaulted || task.IsCanceled)
            {
                task = LoadAsync(job, cancel);
                _models[key] = task;
            }
        }
        return await task.ConfigureAwait(false);
    }

    private async Task<LoadedModel> LoadAsync(SlideJob job, CancellationToken cancel)
    {
        var p = job.Parameters;
        var overrides = new ModelOverrides
        {
            TileSize = p.TileSize,
            Mpp = p.Mpp,
            Mean = p.Mean,
            Std = p.Std,
            ClassNames = p.Classes,
            MaxBatchSize = Math.Max(1, p.Batch),
        };
        var model = await _loader(job, overrides, cancel).ConfigureAwait(false);
        var description = model.Description;
        if (description.MaxBatchSize > 0 && p.Batch > description.MaxBatchSize)
        {
            await model.DisposeAsync().ConfigureAwait(false);
            throw new JobFormatException($"job field 'parameters.batch' {p.Batch} exceeds max_batch_size {description.MaxBatchSize} of model '{description.Name}'");
        }
        var batcher = new DynamicBatcher(model.Backend, BatcherOptions.FromConfig(description.Config) with { MaxBatchSize = p.Batch, MaxQueueSize = 0 });
        return new LoadedModel(model, batcher);
    }

    private async Task KeepAliveAsync(IJobDelivery delivery, CancellationTokenSource lost, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Delay(_options.KeepAliveInterval, stop).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                return;
            }
            try
            {
                if (!await delivery.KeepAliveAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _log.WriteLine($"worker: keep-alive to {_queue.Name} failed ({OneLine(ex.Message)})");
            }
        }
    }

    private async Task RefreshPendingAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var status = await _queue.StatusAsync(stop).ConfigureAwait(false);
                _metrics.QueuePending.Set(status.Pending);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The next refresh tries again; the take loop reports broker trouble.
            }
            await Delay(TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
        }
    }

    /// <summary>Settles a delivery; a broker error is logged (the broker redelivers the message later).</summary>
    private async Task SettleQuietly(Func<Task> settle)
    {
        try
        {
            await settle().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _log.WriteLine($"worker: could not settle a job on {_queue.Name} ({OneLine(ex.Message)}); the broker will deliver it again");
        }
    }

    private static async Task Delay(TimeSpan wait, CancellationToken cancel)
    {
        try
        {
            await Task.Delay(wait, cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Describe(Exception ex) =>
        (ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex) switch
        {
            var e when e is IOException or UnauthorizedAccessException || e.GetType().Name.EndsWith("Exception", StringComparison.Ordinal) && e.GetType().Namespace?.StartsWith("Histoscale", StringComparison.Ordinal) == true => OneLine(e.Message),
            var e => $"{OneLine(e.Message)} ({e.GetType().Name})",
        };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    private sealed class LoadedModel(JobModel model, DynamicBatcher batcher) : IAsyncDisposable
    {
        public JobModel Model { get; } = model;

        public DynamicBatcher Batcher { get; } = batcher;

        public async ValueTask DisposeAsync()
        {
            await Batcher.DisposeAsync().ConfigureAwait(false);
            await Model.DisposeAsync().ConfigureAwait(false);
        }
    }
}
