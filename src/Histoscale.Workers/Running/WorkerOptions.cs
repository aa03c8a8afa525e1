using Histoscale.Slides;

namespace Histoscale.Workers.Running;

/// <summary>How a <see cref="SlideWorker"/> takes and runs jobs.</summary>
public sealed record WorkerOptions
{
    /// <summary>Slides run at once by this worker (each job is one slide).</summary>
    public int SlidesInFlight { get; init; } = 1;

    /// <summary>Exit after this long with nothing to do (no job in hand, none on the queue); null = never.</summary>
    public TimeSpan? IdleExit { get; init; }

    /// <summary>Attempts a job gets; after the last failure (or that many deliveries) it is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>After a stop is requested, how long the jobs in hand may take to finish before they are returned.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Wait between polls of an empty queue.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often a job in hand is reported alive to the broker (well under its visibility timeout).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Consecutive failures to take a job from the broker (with backoff between them, at most 30 s each) after which
    /// <see cref="SlideWorker.RunAsync"/> gives up with a <see cref="WorkerBrokerException"/>, so that the process
    /// exits non-zero and its orchestrator restarts it. The default, 10, is about two minutes of failures.
    /// </summary>
    public int MaxBrokerErrors { get; init; } = 10;

    /// <summary>Port of the Prometheus endpoint (<c>/metrics</c>); null = none.</summary>
    public int? MetricsPort { get; init; }

    /// <summary>How slides are opened (schemes, object stores, formats), as for <c>infer</c>.</summary>
    public SlideOptions Slides { get; init; } = new();

    /// <summary>
    /// Where jobs whose output is an object-store prefix (s3://, az://, gs://) are written: the worker runs the slide
    /// into a staging folder, then uploads each finished file with one committed write. Null = such jobs fail,
    /// saying that the worker has no object store.
    /// </summary>
    public Histoscale.Storage.ObjectStoreProvider? ObjectStores { get; init; }

    /// <summary>
    /// For object-store outputs: how often the checkpoint of a slide in progress is uploaded to the output
    /// (<c>PREFIX/.histoscale/NAME.results.bin</c> beside its state file), so that a job redelivered to another worker
    /// resumes it; one committed write of the whole checkpoint (about 4 bytes per model output per tile done), only when
    /// it changed. It is also uploaded when the grace period runs out. A worker killed loses at most this much work.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Local folder for the staging folders of object-store outputs; null = the system's temporary folder.</summary>
    public string? StagingDirectory { get; init; }

    /// <summary>Read/decode threads per slide; null = one per core.</summary>
    public int? ReadWorkers { get; init; }

    /// <summary>Facts for each slide's run report (device, backend, versions) that only the host knows.</summary>
    public IReadOnlyDictionary<string, object?> Environment { get; init; } = new Dictionary<string, object?>();

    /// <summary>Checks the values; throws <see cref="ArgumentOutOfRangeException"/> naming the option.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(SlidesInFlight, 1, nameof(SlidesInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBrokerErrors, 1, nameof(MaxBrokerErrors));
        ArgumentOutOfRangeException.ThrowIfLessThan(Grace, TimeSpan.Zero, nameof(Grace));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PollInterval, TimeSpan.Zero, nameof(PollInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(KeepAliveInterval, TimeSpan.Zero, nameof(KeepAliveInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CheckpointInterval, TimeSpan.Zero, nameof(CheckpointInterval));
    }
}

/// <summary>What a worker did before it exited.</summary>
/// <param name="Completed">Jobs completed (including slides already complete in their output folder).</param>
/// <param name="Failed">Failed attempts (retried later or dead-lettered).</param>
/// <param name="DeadLettered">Jobs moved to the dead-letter queue (malformed, or out of attempts).</param>
/// <param name="Returned">Jobs given back unfinished when the worker was stopped.</param>
public sealed record WorkerSummary(int Completed, int Failed, int DeadLettered, int Returned);

/// <summary>The broker kept failing: <see cref="WorkerOptions.MaxBrokerErrors"/> attempts in a row to take a job failed.</summary>
public sealed class WorkerBrokerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkerBrokerException(string message, Exception inner) : base(message, inner)
    {
    }
}
