using System.Diagnostics;
using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.Benchmarks;

/// <summary>Settings for <see cref="InferenceBenchmark"/>.</summary>
public sealed record InferenceBenchmarkOptions
{
    /// <summary>Tiles per batch (1 for models without a batch dimension).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>How long the timed phase runs (unless <see cref="Iterations"/> ends it first).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Timed batches in total across workers; null = run for <see cref="Duration"/>.</summary>
    public int? Iterations { get; init; }

    /// <summary>Untimed batches per worker before timing starts.</summary>
    public int WarmupIterations { get; init; } = 2;

    /// <summary>Batches in flight at once; null = the backend's instance count.</summary>
    public int? Concurrency { get; init; }

    /// <summary>Size for variable spatial dims (H, W) of inputs; required only when the model has them.</summary>
    public int? TileSize { get; init; }
}

/// <summary>Model-only throughput: tiles per second and batch latency percentiles.</summary>
/// <param name="BatchSize">Tiles per batch.</param>
/// <param name="Concurrency">Batches in flight at once.</param>
/// <param name="Batches">Timed batches.</param>
/// <param name="Tiles">Timed tiles (batches × batch size).</param>
/// <param name="Seconds">Length of the timed phase.</param>
/// <param name="TilesPerSecond">Throughput.</param>
/// <param name="MeanBatchMs">Mean batch latency in milliseconds.</param>
/// <param name="P50BatchMs">Median batch latency in milliseconds.</param>
/// <param name="P99BatchMs">99th percentile batch latency in milliseconds.</param>
public sealed record InferenceBenchmarkResult(
    int BatchSize,
    int Concurrency,
    int Batches,
    long Tiles,
    double Seconds,
    double TilesPerSecond,
    double MeanBatchMs,
    double P50BatchMs,
    double P99BatchMs);

/// <summary>
/// Runs a backend on pre-made tensors (random pixel values, made once per worker) for a duration or a number of
/// batches, after a warm-up, with as many batches in flight as the backend has instances. This is the ceiling the
/// pipeline is measured against: no decoding, no batching delay, no copies beyond the backend's own.
/// </summary>
public static class InferenceBenchmark
{
    /// <summary>Warms up, then times batches on <paramref name="backend"/> as <paramref name="options"/> say, and reports throughput and latency.</summary>
    public static async Task<InferenceBenchmarkResult> RunAsync(IInferenceBackend backend, InferenceBenchmarkOptions options, CancellationToken cancellationToken = default)
    {
        var metadata = backend.Metadata;
        var batch = metadata.IsBatched ? options.BatchSize : 1;
        if (metadata.IsBatched && (batch < 1 || batch > metadata.MaxBatchSize))
        {
            throw new InferenceRequestException($"batch {batch} is outside 1..{metadata.MaxBatchSize} (max_batch_size of model '{metadata.Name}')");
        }
        var concurrency = Math.Max(1, options.Concurrency ?? backend.InstanceCount);
        var inputs = Enumerable.Range(0, concurrency).Select(i => MakeInputs(metadata, batch, options.TileSize, seed: i)).ToArray();
        try
        {
            await Task.WhenAll(inputs.Select(set => Task.Run(async () =>
            {
                for (var i = 0; i < options.WarmupIterations; i++)
                {
                    (await backend.ExecuteAsync(set, cancellationToken).ConfigureAwait(false)).Dispose();
                }
            }, cancellationToken))).ConfigureAwait(false);

            var latencies = new List<double>[concurrency];
            var remaining = options.Iterations ?? int.MaxValue;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(inputs.Select((set, w) => Task.Run(async () =>
            {
                var mine = latencies[w] = [];
                while (clock.Elapsed < options.Duration && Interlocked.Decrement(ref remaining) >= 0)
                {
                    var start = Stopwatch.GetTimestamp();
                    (await backend.ExecuteAsync(set, cancellationToken).ConfigureAwait(false)).Dispose();
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }, cancellationToken))).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;

            var all = latencies.SelectMany(l => l).Order().ToArray();
            var tiles = (long)all.Length * batch;
            return new InferenceBenchmarkResult(
                batch,
                concurrency,
                all.Length,
                tiles,
                seconds,
                seconds > 0 ? tiles / seconds : 0,
                all.Length > 0 ? all.Average() : 0,
                Percentile(all, 0.50),
                Percentile(all, 0.99));
        }
        finally
        {
            foreach (var set in inputs)
            {
                set.Dispose();
            }
        }
    }

    /// <summary>Random inputs for every model input: pixel-like values 0–255 for numeric types.</summary>
    public static TensorSet MakeInputs(BackendMetadata metadata, int batch, int? tileSize, int seed = 0)
    {
        var rng = new Random(seed);
        var set = new TensorSet(metadata.Inputs.Count);
        try
        {
            foreach (var spec in metadata.Inputs)
            {
                var shape = (long[])spec.Shape.Clone();
                for (var d = 0; d < shape.Length; d++)
                {
                    if (d == 0 && metadata.IsBatched)
                    {
                        shape[d] = batch;
                    }
                    else if (shape[d] < 0)
                    {
                        shape[d] = tileSize ?? throw new InferenceRequestException(
                            $"input '{spec.Name}' of model '{metadata.Name}' has a variable dimension [{string.Join(',', spec.Shape)}]; give a tile size");
                    }
                }
                var tensor = Tensor.Rent(spec.DataType, shape);
                set.Add(spec.Name, tensor);
                Fill(tensor, rng);
            }
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    private static void Fill(Tensor tensor, Random rng)
    {
        switch (tensor.DataType)
        {
            case TensorDataType.Fp32:
                foreach (ref var v in tensor.AsSpan<float>())
                {
                    v = rng.Next(256);
                }
                break;
            case TensorDataType.Fp16:
                foreach (ref var v in tensor.AsSpan<Half>())
                {
                    v = (Half)rng.Next(256);
                }
                break;
            case TensorDataType.UInt8:
                rng.NextBytes(tensor.Bytes);
                break;
            default:
                tensor.Bytes.Clear();
                break;
        }
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
