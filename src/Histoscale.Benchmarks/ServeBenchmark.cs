using System.Diagnostics;
using System.Globalization;
using System.Text;
using Histoscale.Inference;
using Histoscale.KServe;
using Histoscale.Inference.Scheduling;

namespace Histoscale.Benchmarks;

/// <summary>Settings for <see cref="ServeBenchmark"/> (perf_analyzer's concurrency mode).</summary>
public sealed record ServeBenchmarkOptions
{
    /// <summary>grpc://HOST:8001 or http://HOST:8000.</summary>
    public required string ServerUrl { get; init; }

    /// <summary>The model's name on the server.</summary>
    public required string Model { get; init; }

    /// <summary>Model version; null = the server's default.</summary>
    public string? Version { get; init; }

    /// <summary>Items per request (dimension 0).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Requests in flight, one measurement per value.</summary>
    public IReadOnlyList<int> Concurrency { get; init; } = [1];

    /// <summary>Measurement window per concurrency value.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Untimed requests per worker before each window.</summary>
    public int WarmupRequests { get; init; } = 2;

    /// <summary>
    /// Least time each concurrency level is driven, untimed, before its window (besides <see cref="WarmupRequests"/>),
    /// as perf_analyzer waits for stable windows: a freshly started server compiles and re-compiles its request path
    /// (tiered JIT) and touches its buffers for the first time during its first seconds of load.
    /// </summary>
    public TimeSpan WarmupDuration { get; init; } = TimeSpan.Zero;

    /// <summary>Size for variable spatial dims (H, W) of inputs; only for models that have them.</summary>
    public int? TileSize { get; init; }

    /// <summary>How tensors travel: in the messages, or through system shared memory (perf_analyzer's --shared-memory).</summary>
    public SharedMemoryMode SharedMemory { get; init; } = SharedMemoryMode.None;
}

/// <summary>
/// One concurrency level, in perf_analyzer's terms (all times in µs, averages per request): client send/recv,
/// network + server send/receive (what is left of the latency), and the server's queue and compute times taken
/// from the deltas of its statistics over the window.
/// </summary>
/// <param name="Concurrency">Requests kept in flight.</param>
/// <param name="BatchSize">Items per request.</param>
/// <param name="Requests">Requests completed in the window.</param>
/// <param name="Seconds">Length of the window.</param>
/// <param name="InferencesPerSecond">Requests × batch size per second.</param>
/// <param name="ClientSendUs">Client Send: building and serialising a request.</param>
/// <param name="NetworkServerSendRecvUs">Network + Server Send/Recv: latency not accounted for by the other parts.</param>
/// <param name="ServerQueueUs">Server Queue: time in the server's queue.</param>
/// <param name="ServerComputeInputUs">Server Compute Input.</param>
/// <param name="ServerComputeInferUs">Server Compute Infer.</param>
/// <param name="ServerComputeOutputUs">Server Compute Output.</param>
/// <param name="ClientRecvUs">Client Recv: turning a response into tensors.</param>
/// <param name="P50Us">Median request latency.</param>
/// <param name="P90Us">90th percentile request latency.</param>
/// <param name="P95Us">95th percentile request latency.</param>
/// <param name="P99Us">99th percentile request latency.</param>
public sealed record ServeBenchmarkResult(
    int Concurrency,
    int BatchSize,
    long Requests,
    double Seconds,
    double InferencesPerSecond,
    long ClientSendUs,
    long NetworkServerSendRecvUs,
    long ServerQueueUs,
    long ServerComputeInputUs,
    long ServerComputeInferUs,
    long ServerComputeOutputUs,
    long ClientRecvUs,
    long P50Us,
    long P90Us,
    long P95Us,
    long P99Us)
{
    /// <summary>How long the untimed warm-up before the window lasted.</summary>
    public double WarmupSeconds { get; init; }
}

/// <summary>
/// Measures a KServe v2 server the way Triton's perf_analyzer does in concurrency mode: N workers each keep one
/// request in flight with its own pre-made inputs for a fixed window; throughput counts inferences (requests ×
/// batch); the server's share comes from its statistics endpoint, before and after the window.
/// </summary>
public static class ServeBenchmark
{
    /// <summary>perf_analyzer's CSV header, column for column.</summary>
    public const string CsvHeader =
        "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency";

    /// <summary>Measures one window per <see cref="ServeBenchmarkOptions.Concurrency"/> value, in order.</summary>
    public static async Task<IReadOnlyList<ServeBenchmarkResult>> RunAsync(ServeBenchmarkOptions options, CancellationToken cancellationToken = default)
    {
        var results = new List<ServeBenchmarkResult>();
        foreach (var concurrency in options.Concurrency)
        {
            results.Add(await RunOneAsync(options, concurrency, cancellationToken).ConfigureAwait(false));
        }
        return results;
    }

    /// <summary>The results as perf_analyzer's CSV (<see cref="CsvHeader"/> then one line per result, times in µs).</summary>
    public static string ToCsv(IEnumerable<ServeBenchmarkResult> results)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in results)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Concurrency},{r.InferencesPerSecond:0.##},{r.ClientSendUs},{r.NetworkServerSendRecvUs},{r.ServerQueueUs},{r.ServerComputeInputUs},{r.ServerComputeInferUs},{r.ServerComputeOutputUs},{r.ClientRecvUs},{r.P50Us},{r.P90Us},{r.P95Us},{r.P99Us}"))
                .Append('\n');
        }
        return text.ToString();
    }

    private static async Task<ServeBenchmarkResult> RunOneAsync(ServeBenchmarkOptions options, int concurrency, CancellationToken cancellationToken)
    {
        if (concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "concurrency values must be at least 1");
        }
        // No retries: a rejected request is the server's answer and must show, not be hidden by the client.
        await using var backend = await RemoteBackends.CreateAsync(options.ServerUrl, options.Model, options.Version, RemoteBackendOptions.NoRetry(concurrency) with { SharedMemory = options.SharedMemory }, cancellationToken).ConfigureAwait(false);
        var metadata = backend.Metadata;
        var batch = metadata.IsBatched ? options.BatchSize : 1;
        if (metadata.IsBatched && (batch < 1 || batch > metadata.MaxBatchSize))
        {
            throw new InferenceRequestException($"batch {batch} is outside 1..{metadata.MaxBatchSize} (max_batch_size of model '{metadata.Name}')");
        }
        var inputs = Enumerable.Range(0, concurrency).Select(i => InferenceBenchmark.MakeInputs(metadata, batch, options.TileSize, seed: i)).ToArray();
        try
        {
            var warmup = Stopwatch.StartNew();
            await Task.WhenAll(inputs.Select(set => Task.Run(async () =>
            {
                for (var i = 0; i < options.WarmupRequests || warmup.Elapsed < options.WarmupDuration; i++)
                {
                    (await backend.ExecuteAsync(set, cancellationToken).ConfigureAwait(false)).Dispose();
                }
            }, cancellationToken))).ConfigureAwait(false);
            var warmupSeconds = warmup.Elapsed.TotalSeconds;

            var before = await backend.GetServerStatisticsAsync(cancellationToken).ConfigureAwait(false);
            var sendBefore = backend.Timings.Send;
            var recvBefore = backend.Timings.Recv;
            var latencies = new List<long>[concurrency];
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(inputs.Select((set, w) => Task.Run(async () =>
            {
                var mine = latencies[w] = [];
                while (clock.Elapsed < options.Duration)
                {
                    var start = Stopwatch.GetTimestamp();
                    (await backend.ExecuteAsync(set, cancellationToken).ConfigureAwait(false)).Dispose();
                    mine.Add((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }, cancellationToken))).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;
            var after = await backend.GetServerStatisticsAsync(cancellationToken).ConfigureAwait(false);

            var all = latencies.SelectMany(l => l).Order().ToArray();
            var requests = all.Length;
            long PerRequest(TimeSpan t) => requests == 0 ? 0 : (long)(t.TotalMicroseconds / requests);
            var send = PerRequest(backend.Timings.Send - sendBefore);
            var recv = PerRequest(backend.Timings.Recv - recvBefore);
            var served = after.Success.Count - before.Success.Count;
            long Server(Func<InferenceStatisticsSnapshot, DurationStat> pick) =>
                served <= 0 ? 0 : (pick(after).Ns - pick(before).Ns) / served / 1000;
            var queue = Server(s => s.Queue);
            var input = Server(s => s.ComputeInput);
            var infer = Server(s => s.ComputeInfer);
            var output = Server(s => s.ComputeOutput);
            var mean = requests == 0 ? 0 : (long)all.Average();
            var network = Math.Max(0, mean - send - recv - queue - input - infer - output);
            return new ServeBenchmarkResult(
                concurrency,
                batch,
                requests,
                seconds,
                seconds > 0 ? requests * (double)batch / seconds : 0,
                send,
                network,
                queue,
                input,
                infer,
                output,
                recv,
                Percentile(all, 0.50),
                Percentile(all, 0.90),
                Percentile(all, 0.95),
                Percentile(all, 0.99))
            { WarmupSeconds = warmupSeconds };
        }
        finally
        {
            foreach (var set in inputs)
            {
                set.Dispose();
            }
        }
    }

    private static long Percentile(long[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1))];
}
