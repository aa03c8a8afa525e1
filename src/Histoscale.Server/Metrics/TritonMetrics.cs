using System.Globalization;
using System.Text;
using Histoscale.Inference.Scheduling;
using Histoscale.Server.Kserve;
using Histoscale.Server.Models;

namespace Histoscale.Server.Metrics;

/// <summary>
/// Prometheus text exposition with Triton's metric names, help texts, types and labels (<c>model</c>,
/// <c>version</c>), computed from each loaded version's statistics at scrape time, so NVIDIA's autoscaling recipes
/// (HPA/KEDA on nv_inference_queue_duration_us, nv_inference_request_success, ...) work unchanged. Durations are
/// cumulative counters in microseconds, as in Triton.
/// </summary>
internal static class TritonMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly Metric[] All =
    [
        new("nv_inference_request_success", "Number of successful inference requests, all batch sizes", "counter", s => s.Success.Count),
        new("nv_inference_request_failure", "Number of failed inference requests, all batch sizes", "counter", s => s.Fail.Count),
        new("nv_inference_count", "Number of inferences performed (does not include cached requests)", "counter", s => s.InferenceCount),
        new("nv_inference_exec_count", "Number of model executions performed (does not include cached requests)", "counter", s => s.ExecutionCount),
        new("nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution per-model.", "gauge", s => s.PendingRequests),
        new("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds (includes cached requests)", "counter", s => Us(s.Success)),
        new("nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds (includes cached requests)", "counter", s => Us(s.Queue)),
        new("nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds (does not include cached requests)", "counter", s => Us(s.ComputeInput)),
        new("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds (does not include cached requests)", "counter", s => Us(s.ComputeInfer)),
        new("nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds (does not include cached requests)", "counter", s => Us(s.ComputeOutput)),
    ];

    /// <summary>The whole exposition for the registry's loaded model versions, then the memory gauges.</summary>
    public static string Render(ModelRegistry models, MemoryBudget? budget = null)
    {
        var snapshots = models.LoadedVersions.Select(v => (v.Name, v.VersionText, Stats: v.Statistics.Snapshot())).ToList();
        var text = new StringBuilder(1024);
        foreach (var metric in All)
        {
            text.Append("# HELP ").Append(metric.Name).Append(' ').Append(metric.Help).Append('\n');
            text.Append("# TYPE ").Append(metric.Name).Append(' ').Append(metric.Type).Append('\n');
            foreach (var (name, version, stats) in snapshots)
            {
                text.Append(metric.Name)
                    .Append("{model=\"").Append(Escape(name)).Append("\",version=\"").Append(Escape(version)).Append("\"} ")
                    .Append(metric.Value(stats).ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        RenderMemory(text, budget);
        return text.ToString();
    }

    /// <summary>
    /// Triton's CPU memory gauges (the machine's RAM from /proc/meminfo: total, and total − available as used), the
    /// process's resident set and GC heap, and the request memory budget.
    /// </summary>
    private static void RenderMemory(StringBuilder text, MemoryBudget? budget)
    {
        if (SystemMemory.Read() is { } ram)
        {
            Gauge(text, "nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes", ram.Total);
            Gauge(text, "nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes", ram.Used);
        }
        using (var process = System.Diagnostics.Process.GetCurrentProcess())
        {
            Gauge(text, "histoscale_process_resident_memory_bytes", "Resident set size of the server process, in bytes", process.WorkingSet64);
        }
        var gc = GC.GetGCMemoryInfo();
        Gauge(text, "histoscale_gc_heap_size_bytes", "Managed (GC) heap size after the last collection, in bytes", gc.HeapSizeBytes);
        Gauge(text, "histoscale_gc_committed_bytes", "Memory the GC has committed, in bytes", gc.TotalCommittedBytes);
        Counter(text, "histoscale_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the server started", GC.GetTotalAllocatedBytes());
        if (budget is not null)
        {
            Gauge(text, "histoscale_memory_budget_bytes", "Request memory budget (--memory-budget), in bytes; 0 = unlimited", budget.Limit);
            Gauge(text, "histoscale_memory_budget_used_bytes", "Bytes of queued and in-flight inference requests", budget.Used);
            Counter(text, "histoscale_memory_budget_rejected_total", "Inference requests refused because the memory budget was exhausted", budget.Rejected);
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) => Single(text, name, help, "gauge", value);

    private static void Counter(StringBuilder text, string name, string help, long value) => Single(text, name, help, "counter", value);

    private static void Single(StringBuilder text, string name, string help, string type, long value) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
            .Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static long Us(DurationStat d) => d.Ns / 1000;

    /// <summary>Label values escape backslash, quote and newline (Prometheus text format).</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed record Metric(string Name, string Help, string Type, Func<InferenceStatisticsSnapshot, long> Value);
}
