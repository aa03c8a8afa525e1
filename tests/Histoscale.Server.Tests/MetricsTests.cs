using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>The metrics port serves Prometheus text with Triton's names, types and labels.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class MetricsTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    private static readonly string[] Counters =
    [
        "nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count", "nv_inference_exec_count",
        "nv_inference_request_duration_us", "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us",
        "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us",
    ];

    [Fact]
    public async Task TritonMetricsWithModelAndVersionLabels()
    {
        for (var i = 0; i < 4; i++)
        {
            await server.Grpc.ModelInferAsync(Requests.Grpc("mean_fp32", "image", "FP32", [2, 3, T, T], new byte[2 * 3 * T * T * 4]));
        }
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await server.Grpc.ModelInferAsync(Requests.Grpc("mean_fp32", "image", "FP32", [2, 3, T, T + 1], new byte[2 * 3 * T * (T + 1) * 4])));

        using var response = await server.Metrics.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var name in Counters)
        {
            Assert.Contains($"# TYPE {name} counter\n", text, StringComparison.Ordinal);
            Assert.Contains($"# HELP {name} ", text, StringComparison.Ordinal);
        }
        Assert.Contains("# TYPE nv_inference_pending_request_count gauge\n", text, StringComparison.Ordinal);

        long Value(string name) => long.Parse(
            Regex.Match(text, $"^{name}\\{{model=\"mean_fp32\",version=\"1\"\\}} (\\d+)$", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(Value("nv_inference_request_success") >= 4);
        Assert.True(Value("nv_inference_request_failure") >= 1);
        Assert.True(Value("nv_inference_count") >= 8);
        Assert.True(Value("nv_inference_exec_count") is >= 1 and <= 100);
        Assert.True(Value("nv_inference_count") >= Value("nv_inference_exec_count"));
        Assert.Equal(0, Value("nv_inference_pending_request_count"));
        var request = Value("nv_inference_request_duration_us");
        var parts = Value("nv_inference_queue_duration_us") + Value("nv_inference_compute_input_duration_us")
            + Value("nv_inference_compute_infer_duration_us") + Value("nv_inference_compute_output_duration_us");
        Assert.True(Value("nv_inference_compute_infer_duration_us") > 0);
        Assert.True(request > 0 && parts <= request + 1000, $"request {request} µs vs parts {parts} µs");

        // Every per-model sample line is well formed: name{model="…",version="…"} integer; the process-wide
        // gauges (memory) have no labels.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
        {
            if (line.StartsWith("nv_cpu_", StringComparison.Ordinal) || line.StartsWith("histoscale_", StringComparison.Ordinal))
            {
                Assert.Matches("^[a-z_]+ [0-9]+$", line);
                continue;
            }
            Assert.Matches(SampleLine(), line);
        }
        Assert.Contains("version=\"2\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachPortServesOnlyItsOwnApi()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await server.Metrics.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/metrics")).StatusCode);
    }

    [GeneratedRegex("^nv_[a-z_]+\\{model=\"[a-z0-9_]+\",version=\"[0-9]+\"\\} [0-9]+$")]
    private static partial Regex SampleLine();
}
