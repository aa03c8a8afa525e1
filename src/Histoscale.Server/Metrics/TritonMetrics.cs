using System.Globalization;
using System.Text;
using Histoscale.Inference.Scheduling;
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

    /// <summary>The whole exposition for the registry's loaded model versions.</summary>
    public static string Render(ModelRegistry models)
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
        return text.ToString();
    }

    private static long Us(DurationStat d) => d.Ns / 1000;

    /// <summary>Label values escape backslash, quote and newline (Prometheus text format).</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed record Metric(string Name, string Help, string Type, Func<InferenceStatisticsSnapshot, long> Value);
}
