using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>How a remote (KServe v2) backend talks to its server. Defaults suit a pipeline feeding one server.</summary>
public sealed record RemoteBackendOptions
{
    /// <summary>Requests in flight at once (the backend's <see cref="IInferenceBackend.InstanceCount"/>).</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Tries per request, the first included, while the server answers UNAVAILABLE/503 or cannot be reached.</summary>
    public int MaxAttempts { get; init; } = 10;

    /// <summary>Backoff before the first retry; doubles per retry (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Upper bound on one backoff.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Deadline of one attempt; null = none.</summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>TCP connect timeout; short so a restarting server is retried rather than waited on.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How tensor bytes travel: in the messages (default) or through system shared memory registered with the server
    /// (gRPC only; the client must share the server's /dev/shm).
    /// </summary>
    public SharedMemoryMode SharedMemory { get; init; } = SharedMemoryMode.None;

    /// <summary>No retries at all (benchmarks measure the server, not the client's patience).</summary>
    public static RemoteBackendOptions NoRetry(int concurrency) => new() { Concurrency = concurrency, MaxAttempts = 1 };
}
