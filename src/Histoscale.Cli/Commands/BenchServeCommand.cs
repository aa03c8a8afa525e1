using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Benchmarks;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale bench serve</c>: perf_analyzer-style measurement of a KServe v2 server (ours or Triton).</summary>
public static class BenchServeCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "Server URL: grpc://HOST:8001 or http://HOST:8000", Required = true };
        var model = new Option<string>("--model") { Description = "Model name on the server", Required = true };
        var version = new Option<string?>("--model-version") { Description = "Model version (default: latest ready)" };
        var batch = new Option<int>("--batch") { Description = "Items per request", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<string>("--concurrency") { Description = "Requests in flight, comma-separated list (perf_analyzer's --concurrency-range)", DefaultValueFactory = _ => "1" };
        var seconds = new Option<double>("--seconds") { Description = "Measurement window per concurrency value", DefaultValueFactory = _ => 5 };
        var warmupSeconds = new Option<double?>("--warmup-seconds")
        {
            Description = "Untimed load at each concurrency value before its window, so a fresh server's start-up work (JIT, first-touch memory) stays out of it (default: the window's length, at most 5 s)",
        };
        var tileSize = new Option<int?>("--tile-size") { Description = "Tile size for models with variable input height/width" };
        var sharedMemory = new Option<string>("--shared-memory")
        {
            Description = "How tensors travel: none (in the messages) or system (POSIX shared memory registered with a server on this host; gRPC only)",
            DefaultValueFactory = _ => "none",
        };
        sharedMemory.AcceptOnlyFromAmong("none", "system");
        var json = new Option<bool>("--json") { Description = "Print JSON {\"results\":[...]} instead of perf_analyzer's CSV" };

        var command = new Command("serve", "Throughput and latency of a KServe v2 / Triton server, reported as perf_analyzer does")
        {
            server, model, version, batch, concurrency, seconds, warmupSeconds, tileSize, sharedMemory, json,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            if (r.GetValue(batch) < 1)
            {
                throw new InputException("--batch must be at least 1");
            }
            if (r.GetValue(seconds) <= 0)
            {
                throw new InputException("--seconds must be positive");
            }
            if (r.GetValue(warmupSeconds) is < 0)
            {
                throw new InputException("--warmup-seconds must not be negative");
            }
            var levels = new List<int>();
            foreach (var part in r.GetValue(concurrency)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 1)
                {
                    throw new InputException($"--concurrency: '{part}' is not a positive integer");
                }
                levels.Add(c);
            }
            if (levels.Count == 0)
            {
                throw new InputException("--concurrency needs at least one value");
            }
            try
            {
                KServe.ServerAddress.Parse(r.GetValue(server)!);
            }
            catch (ArgumentException ex)
            {
                throw new InputException(ex.Message);
            }
            if (r.GetValue(sharedMemory) == "system" && !r.GetValue(server)!.StartsWith("grpc", StringComparison.OrdinalIgnoreCase))
            {
                throw new InputException($"--shared-memory system needs a gRPC server (grpc://HOST:8001), not {r.GetValue(server)}");
            }

            var results = await ServeBenchmark.RunAsync(new ServeBenchmarkOptions
            {
                ServerUrl = r.GetValue(server)!,
                Model = r.GetValue(model)!,
                Version = r.GetValue(version),
                BatchSize = r.GetValue(batch),
                Concurrency = levels,
                Duration = TimeSpan.FromSeconds(r.GetValue(seconds)),
                WarmupDuration = TimeSpan.FromSeconds(r.GetValue(warmupSeconds) ?? Math.Min(5, r.GetValue(seconds))),
                TileSize = r.GetValue(tileSize),
                SharedMemory = r.GetValue(sharedMemory) == "system" ? KServe.SharedMemoryMode.System : KServe.SharedMemoryMode.None,
            }, ct);

            var output = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["server"] = r.GetValue(server)!,
                    ["model"] = r.GetValue(model)!,
                    ["batch"] = results.Count > 0 ? results[0].BatchSize : r.GetValue(batch),
                    ["results"] = results.Select(x => new Dictionary<string, object>
                    {
                        ["concurrency"] = x.Concurrency,
                        ["inferencesPerSecond"] = Math.Round(x.InferencesPerSecond, 2),
                        ["requests"] = x.Requests,
                        ["seconds"] = Math.Round(x.Seconds, 3),
                        ["warmupSeconds"] = Math.Round(x.WarmupSeconds, 3),
                        ["clientSendUs"] = x.ClientSendUs,
                        ["networkServerSendRecvUs"] = x.NetworkServerSendRecvUs,
                        ["serverQueueUs"] = x.ServerQueueUs,
                        ["serverComputeInputUs"] = x.ServerComputeInputUs,
                        ["serverComputeInferUs"] = x.ServerComputeInferUs,
                        ["serverComputeOutputUs"] = x.ServerComputeOutputUs,
                        ["clientRecvUs"] = x.ClientRecvUs,
                        ["p50Us"] = x.P50Us,
                        ["p90Us"] = x.P90Us,
                        ["p95Us"] = x.P95Us,
                        ["p99Us"] = x.P99Us,
                    }).ToList(),
                }));
            }
            else
            {
                output.Write(ServeBenchmark.ToCsv(results));
            }
            return CliRunner.Ok;
        });
        return command;
    }
}
