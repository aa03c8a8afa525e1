using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Histoscale.Deploy;
using Histoscale.Inference.Config;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis.Models;
using Histoscale.Workers.Running;
using Prometheus;
using Xunit.Abstractions;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// The scaling queries on a real Prometheus (Debian's <c>prometheus</c>, started here on loopback), scraping
/// exporters that carry the usual cluster labels (namespace, pod, service) as a Kubernetes scrape adds them:
/// the worker backlog query docs/workers.md gives, over the worker's own metrics (its <see cref="WorkerMetrics"/>
/// registry behind prometheus-net's MetricServer, as <c>worker --metrics-port</c> serves it), and the server
/// queue-time query <c>deploy render</c> writes into the servers' KEDA ScaledObject, over Triton-named counters.
/// A workload in another namespace checks that the queries select theirs. Then the rendered server query against a
/// real, overloaded <c>histoscale serve</c> process: it rises above its threshold and falls back once the load stops.
/// Alone (no parallel test classes): the overload test saturates both cores of a CI runner for a minute or more.
/// </summary>
[Collection(ScalingQueryCollection.Name)]
public sealed partial class ScalingQueryTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TheDocumentedAndRenderedScalingQueriesEvaluateToTheExpectedValues()
    {
        var prometheus = Which("prometheus");
        Skip.If(prometheus is null, "prometheus is not installed (apt-get install prometheus; CI's .ci/run does)");

        // Workers: two in namespace "lab" (2 and 1 slides in hand; both see 5 jobs waiting), one elsewhere.
        var lab1 = Worker(inFlight: 2, pending: 5);
        var lab2 = Worker(inFlight: 1, pending: 5);
        var other = Worker(inFlight: 7, pending: 9);
        // Servers: each scrape counts 4 more requests that waited 40 000 µs each in "lab", 90 000 µs elsewhere.
        var labServer = Server(perRequestUs: 40_000);
        var otherServer = Server(perRequestUs: 90_000);
        var servers = new List<MetricServer>();
        try
        {
            var targets = new List<(int Port, string Namespace, string Pod, string Service)>();
            foreach (var (registry, ns, pod, service) in new[]
            {
                (lab1, "lab", "histoscale-worker-a", "histoscale-worker"),
                (lab2, "lab", "histoscale-worker-b", "histoscale-worker"),
                (other, "other", "histoscale-worker-a", "histoscale-worker"),
                (labServer, "lab", "histoscale-server-a", "histoscale-server"),
                (otherServer, "other", "histoscale-server-a", "histoscale-server"),
            })
            {
                var port = FreePort();
                servers.Add((MetricServer)new MetricServer("127.0.0.1", port, "metrics/", registry).Start());
                targets.Add((port, ns, pod, service));
            }

            using var prom = new PrometheusProcess(prometheus!, targets);
            await prom.WaitForTargetsAsync(targets.Count);

            var workerQuery = DocumentedWorkerQuery().Replace("NS", "lab", StringComparison.Ordinal);
            Assert.Equal(5 + 2 + 1, await prom.WaitForValueAsync(workerQuery, v => v > 0));

            var (serverQuery, threshold) = RenderedServerQuery();
            // rate() needs two samples of each counter: poll until the query has a value.
            var queueTime = await prom.WaitForValueAsync(serverQuery, v => v > 0);
            Assert.Equal(40_000, queueTime, 6);
            Assert.True(queueTime < threshold, $"{queueTime} µs is under the rendered threshold {threshold}");
        }
        finally
        {
            foreach (var s in servers)
            {
                await s.StopAsync();
            }
        }
    }

    /// <summary>
    /// docs/workers.md gives the servers' scaling query; it must be the one <c>deploy render</c> writes into the
    /// servers' ScaledObject (NS for the namespace, the default deployment name).
    /// </summary>
    [Fact]
    public void TheDocumentedServerQueryIsTheRenderedOne()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "workers.md"));
        var m = ServerQueryInDocs().Match(doc);
        Assert.True(m.Success, "docs/workers.md no longer gives the server queue-time query in a promql block");
        Assert.Equal(RenderedServerQuery().Query, m.Groups[1].Value.Replace("\"NS\"", "\"lab\"", StringComparison.Ordinal));
    }

    /// <summary>
    /// The issue's check of the server signal: a real Prometheus scrapes a real <c>histoscale serve</c> process (with
    /// the labels a Kubernetes scrape of the rendered Service adds), many concurrent clients overload one
    /// single-threaded instance of a slow model, and the query <c>deploy render</c> writes — range windows of at most
    /// two minutes — rises above its rendered threshold; once the clients stop it falls back under the threshold
    /// within two and a half minutes. A query that selected the wrong series, never rose, or kept an idle fleet
    /// scaled out fails here.
    /// </summary>
    [SkippableFact]
    public async Task TheRenderedServerQueryRisesUnderOverloadAndFallsBackWhenTheServerIdles()
    {
        var prometheus = Which("prometheus");
        Skip.If(prometheus is null, "prometheus is not installed (apt-get install prometheus; CI's .ci/run does)");

        var (query, threshold) = RenderedServerQuery();
        var windows = RangeWindow().Matches(query).Select(w => PrometheusDuration(w.Groups[1].Value)).ToList();
        Assert.NotEmpty(windows);
        Assert.All(windows, w => Assert.True(w <= TimeSpan.FromMinutes(2), $"range window {w} in '{query}' is over two minutes"));
        var fallLimit = TimeSpan.FromSeconds(150);

        var repository = Directory.CreateTempSubdirectory("histoscale-scaling-serve-").FullName;
        try
        {
            // About 680 M multiply-adds per request (two 96-channel 3x3 convolutions at 64x64), one request per
            // execution, one instance with one thread: tens of milliseconds per request even on a fast core, and 48
            // clients keep ~47 requests waiting behind the one running — seconds, far above the rendered 100 ms.
            var slow = DemoModels.SmallCnn(tileSize: 128, channels: 96, name: "slow");
            slow.Config.MaxBatchSize = 1;
            slow.Config.InstanceGroups.Add(new InstanceGroupConfig { Count = 1, Kind = InstanceKind.Cpu });
            ModelRepositoryWriter.Write(repository, slow);
            int http = FreePort(), grpc = FreePort(), metrics = FreePort();
            using var server = new CliProcess(
                "serve", "--model-repository", repository, "--host", "127.0.0.1", "--http-port", $"{http}", "--grpc-port", $"{grpc}",
                "--metrics-port", $"{metrics}", "--threads", "1");
            await WaitForReadyAsync(server, http);

            using var prom = new PrometheusProcess(prometheus!, [(metrics, "lab", "histoscale-server-a", RenderedServerServiceName())]);
            await prom.WaitForTargetsAsync(1);
            var idle = await prom.WaitForValueAsync(query, _ => true);
            Assert.True(idle < threshold, $"an idle server gives {idle} µs, not under the threshold {threshold}");

            double loaded;
            using (var clients = new CliProcess(
                "bench", "serve", "--server", $"grpc://127.0.0.1:{grpc}", "--model", "slow", "--batch", "1", "--concurrency", "48",
                "--seconds", "600", "--warmup-seconds", "0"))
            {
                loaded = await prom.WaitForValueAsync(query, v => v > threshold, TimeSpan.FromSeconds(120), () => clients.HasExited ? clients.Stderr : null);
                clients.KillHard();
                await clients.ExitCodeAsync();
            }
            var idling = Stopwatch.StartNew();
            var after = await prom.WaitForValueAsync(query, v => v < threshold, fallLimit, () => server.HasExited ? $"the server exited:\n{server.Stderr}" : null);
            Assert.True(idling.Elapsed <= fallLimit, $"the query fell under its threshold only {idling.Elapsed.TotalSeconds:F0} s after the load stopped");
            Assert.False(server.HasExited, $"the server exited under load:\n{server.Stderr}");
            Assert.True(loaded > threshold && after < threshold, $"{loaded} µs under load, {after} µs idle, threshold {threshold}");
            output.WriteLine($"threshold {threshold} µs; idle {idle}; under load {loaded:F0} (first value above the threshold); {after} µs {idling.Elapsed.TotalSeconds:F0} s after the load stopped");
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    /// <summary>Polls the server's readiness endpoint (test plumbing) until it answers 200; fails if the server exits.</summary>
    private static async Task WaitForReadyAsync(CliProcess server, int httpPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Assert.False(server.HasExited, $"histoscale serve exited:\n{server.Stderr}");
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{httpPort}/v2/health/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // a slow answer on a busy machine: ask again
            }
            await Task.Delay(200);
        }
        Assert.Fail($"histoscale serve did not get ready within two minutes:\n{server.Stderr}");
    }

    /// <summary>A Prometheus duration as range selectors use it: 90s, 1m, 1m30s, 2h.</summary>
    private static TimeSpan PrometheusDuration(string text)
    {
        var total = TimeSpan.Zero;
        foreach (Match part in DurationPart().Matches(text))
        {
            var n = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                "w" => TimeSpan.FromDays(7 * n),
                _ => TimeSpan.FromDays(365 * n),
            };
        }
        return total;
    }

    private static CollectorRegistry Worker(int inFlight, int pending)
    {
        var metrics = new WorkerMetrics();
        metrics.JobsInFlight.Set(inFlight);
        metrics.QueuePending.Set(pending);
        return metrics.Registry;
    }

    private static CollectorRegistry Server(int perRequestUs)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var labels = new CounterConfiguration { LabelNames = ["model", "version"] };
        var success = factory.CreateCounter("nv_inference_request_success", "requests", labels).WithLabels("tissue", "1");
        var queue = factory.CreateCounter("nv_inference_queue_duration_us", "queue time", labels).WithLabels("tissue", "1");
        // Both counters move together at each scrape, so every scrape sees a consistent pair.
        registry.AddBeforeCollectCallback(() =>
        {
            success.Inc(4);
            queue.Inc(4.0 * perRequestUs);
        });
        return registry;
    }

    /// <summary>The worker backlog query as docs/workers.md gives it (NS for the namespace).</summary>
    private static string DocumentedWorkerQuery()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "workers.md"));
        var m = WorkerQueryInDocs().Match(doc);
        Assert.True(m.Success, "docs/workers.md no longer gives the worker backlog query");
        return m.Groups[1].Value;
    }

    /// <summary>The Prometheus trigger of the servers' ScaledObject that deploy render writes, namespace "lab".</summary>
    private static (string Query, double Threshold) RenderedServerQuery()
    {
        var files = DeployRenderer.Render(new RenderRequest { Target = "k8s", Cloud = "aws" }, "namespace: lab\n");
        var yaml = files.Single(f => f.Path.EndsWith("server-scaledobject.yaml", StringComparison.Ordinal)).Content;
        var root = (Dictionary<object, object>)new YamlDotNet.Serialization.Deserializer().Deserialize<object>(yaml)!;
        var spec = (Dictionary<object, object>)root["spec"];
        var trigger = ((List<object>)spec["triggers"]).Cast<Dictionary<object, object>>().Single(t => (string)t["type"] == "prometheus");
        var metadata = (Dictionary<object, object>)trigger["metadata"];
        return ((string)metadata["query"], double.Parse((string)metadata["threshold"], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The name of the servers' Service that <c>deploy render</c> writes: the <c>service</c> label a Kubernetes
    /// scrape (its ServiceMonitor) puts on the server pods' metrics.
    /// </summary>
    private static string RenderedServerServiceName()
    {
        var files = DeployRenderer.Render(new RenderRequest { Target = "k8s", Cloud = "aws" }, "namespace: lab\n");
        var yaml = files.Single(f => f.Path.EndsWith("server-service.yaml", StringComparison.Ordinal)).Content;
        var root = (Dictionary<object, object>)new YamlDotNet.Serialization.Deserializer().Deserialize<object>(yaml)!;
        return (string)((Dictionary<object, object>)root["metadata"])["name"];
    }

    [GeneratedRegex("```promql\n(sum\\(rate\\(nv_inference_queue_duration_us[^\n]*)\n```")]
    private static partial Regex ServerQueryInDocs();

    [GeneratedRegex("\\[([0-9][0-9a-z]*)\\]")]
    private static partial Regex RangeWindow();

    [GeneratedRegex("([0-9.]+)(ms|s|m|h|d|w|y)")]
    private static partial Regex DurationPart();

    [GeneratedRegex("`(max\\(histoscale_queue_pending\\{namespace=\"NS\"\\}\\) \\+ sum\\(histoscale_jobs_in_flight\\{namespace=\"NS\"\\}\\))`")]
    private static partial Regex WorkerQueryInDocs();

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Histoscale.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Histoscale.slnx not found above the test folder");
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>A Prometheus on loopback scraping the targets every second, its data in a temporary folder.</summary>
    private sealed class PrometheusProcess : IDisposable
    {
        private readonly Process _process;
        private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-prometheus-").FullName;
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
        private readonly string _url;

        public PrometheusProcess(string binary, IEnumerable<(int Port, string Namespace, string Pod, string Service)> targets)
        {
            var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: histoscale\n    static_configs:\n"
                + string.Concat(targets.Select(t => $"      - targets: ['127.0.0.1:{t.Port}']\n        labels: {{namespace: {t.Namespace}, pod: {t.Pod}, service: {t.Service}}}\n"));
            File.WriteAllText(Path.Combine(_dir, "prometheus.yml"), config);
            var port = FreePort();
            _url = $"http://127.0.0.1:{port}";
            var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { $"--config.file={Path.Combine(_dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(_dir, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            {
                psi.ArgumentList.Add(a);
            }
            _process = Process.Start(psi)!;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public async Task WaitForTargetsAsync(int count) =>
            await WaitForValueAsync("count(up == 1)", v => v >= count);

        /// <summary>
        /// Polls an instant query (test plumbing, not a timed assertion) until its value passes
        /// <paramref name="ready"/> (one minute unless <paramref name="limit"/> says otherwise); returns it.
        /// <paramref name="failure"/>, when it returns a text, stops the wait with it (a process the test needs died).
        /// </summary>
        public async Task<double> WaitForValueAsync(string query, Func<double, bool> ready, TimeSpan? limit = null, Func<string?>? failure = null)
        {
            double? last = null;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < (limit ?? TimeSpan.FromMinutes(1)))
            {
                Assert.False(_process.HasExited, $"prometheus exited with {(_process.HasExited ? _process.ExitCode : 0)}");
                if (failure?.Invoke() is { } why)
                {
                    Assert.Fail($"while waiting for '{query}' (last: {last?.ToString(CultureInfo.InvariantCulture) ?? "none"}): {why}");
                }
                try
                {
                    using var doc = JsonDocument.Parse(await _http.GetStringAsync($"{_url}/api/v1/query?query={Uri.EscapeDataString(query)}"));
                    var data = doc.RootElement.GetProperty("data");
                    var result = data.GetProperty("result");
                    if (result.GetArrayLength() > 0)
                    {
                        Assert.Equal(1, result.GetArrayLength());
                        last = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                        if (ready(last.Value))
                        {
                            return last.Value;
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    // not up yet
                }
                catch (TaskCanceledException)
                {
                    // a slow answer on a loaded machine: ask again within the limit
                }
                await Task.Delay(100);
            }
            Assert.Fail($"'{query}' never gave a ready value within {clock.Elapsed.TotalSeconds:F0} s (last: {last?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
            return 0;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
            _process.Dispose();
            _http.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}

/// <summary>The scaling-query tests run alone: one of them loads a server with 48 clients on the runner's cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScalingQueryCollection
{
    public const string Name = "scaling queries (alone)";
}
