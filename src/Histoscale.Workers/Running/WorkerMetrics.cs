using Prometheus;

namespace Histoscale.Workers.Running;

/// <summary>The worker's Prometheus metrics, in a registry of its own (no process-wide default registry).</summary>
internal sealed class WorkerMetrics
{
    public WorkerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        JobsInFlight = factory.CreateGauge("histoscale_jobs_in_flight", "Slide jobs this worker is running now.");
        Tiles = factory.CreateCounter("histoscale_tiles_total", "Tiles inferred by this worker (resumed tiles not counted).");
        JobSeconds = factory.CreateHistogram("histoscale_job_seconds", "Seconds from taking a job to settling it, by outcome.",
            new HistogramConfiguration { LabelNames = ["outcome"], Buckets = Histogram.ExponentialBuckets(0.5, 2, 14) });
        Jobs = factory.CreateCounter("histoscale_jobs_total", "Jobs settled by this worker, by outcome.", new CounterConfiguration { LabelNames = ["outcome"] });
        QueuePending = factory.CreateGauge("histoscale_queue_pending", "Jobs waiting on the broker's queue, as the broker last told.");
    }

    public CollectorRegistry Registry { get; }

    public Gauge JobsInFlight { get; }

    public Counter Tiles { get; }

    public Histogram JobSeconds { get; }

    public Counter Jobs { get; }

    public Gauge QueuePending { get; }
}
