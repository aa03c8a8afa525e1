using System.Text.Json;
using Histoscale.Cli;
using Histoscale.Cli.Commands;
using Histoscale.Benchmarks;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary><c>bench serve</c> reports perf_analyzer's columns from real runs against the in-process server.</summary>
[Collection(ServerCollection.Name)]
public sealed class BenchServeTests(ServerFixture server)
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http")]
    public async Task ReportsPerfAnalyzerColumns(string transport)
    {
        var results = await ServeBenchmark.RunAsync(new ServeBenchmarkOptions
        {
            ServerUrl = transport == "grpc" ? server.GrpcUrl : server.HttpUrl,
            Model = "mean_u8",
            BatchSize = 4,
            Concurrency = [1, 2],
            Duration = TimeSpan.FromMilliseconds(300),
        });
        Assert.Equal([1, 2], results.Select(r => r.Concurrency));
        foreach (var r in results)
        {
            Assert.True(r.Requests > 0 && r.InferencesPerSecond > 0);
            Assert.True(r.P50Us > 0 && r.P50Us <= r.P90Us && r.P90Us <= r.P95Us && r.P95Us <= r.P99Us);
            Assert.True(r.ServerComputeInferUs > 0, "server compute from the statistics deltas");
            Assert.True(r.ServerQueueUs + r.ServerComputeInputUs + r.ServerComputeInferUs + r.ServerComputeOutputUs <= r.P99Us);
        }
        var csv = ServeBenchmark.ToCsv(results).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency",
            csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.All(csv[1..], line => Assert.Equal(13, line.Split(',').Length));
    }

    [Fact]
    public async Task CliVerbPrintsJson()
    {
        var root = new System.CommandLine.RootCommand { new System.CommandLine.Command("bench") { BenchServeCommand.Create() } };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--batch", "2", "--concurrency", "1,2", "--seconds", "0.2", "--json"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        var results = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        foreach (var key in new[] { "concurrency", "inferencesPerSecond", "p50Us", "p99Us" })
        {
            Assert.True(results[0].TryGetProperty(key, out _), key);
        }

        var bad = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "nope", "--seconds", "0.1"], stdout, stderr);
        Assert.Equal(CliRunner.BadInput, bad);
        var badConcurrency = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--concurrency", "0"], stdout, stderr);
        Assert.Equal(CliRunner.BadInput, badConcurrency);
    }

    [Fact]
    public async Task SharedMemoryOptionSendsTensorsThroughRegions()
    {
        var root = new System.CommandLine.RootCommand { new System.CommandLine.Command("bench") { BenchServeCommand.Create() } };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--batch", "2", "--concurrency", "2", "--seconds", "0.2", "--shared-memory", "system", "--json"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        var results = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("results");
        Assert.True(results[0].GetProperty("requests").GetInt64() > 0);
        // The benchmark's regions are unregistered when it ends.
        var left = await server.Grpc.SystemSharedMemoryStatusAsync(new Histoscale.KServe.Protocol.SystemSharedMemoryStatusRequest());
        Assert.DoesNotContain(left.Regions.Values, r => r.Key.StartsWith("/histoscale_", StringComparison.Ordinal));

        var overHttp = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.HttpUrl, "--model", "mean_u8", "--shared-memory", "system"], stdout, stderr);
        Assert.Equal(CliRunner.BadInput, overHttp);
    }

    [Fact]
    public async Task EachConcurrencyLevelIsDrivenForTheWarmupTimeBeforeItsWindow()
    {
        var results = await ServeBenchmark.RunAsync(new ServeBenchmarkOptions
        {
            ServerUrl = server.GrpcUrl,
            Model = "mean_u8",
            BatchSize = 2,
            Concurrency = [1, 2],
            Duration = TimeSpan.FromMilliseconds(100),
            WarmupDuration = TimeSpan.FromMilliseconds(400),
        });
        Assert.All(results, r => Assert.True(r.WarmupSeconds >= 0.4, $"warm-up {r.WarmupSeconds} s"));

        // The CLI's default warm-up is the window's length (at most 5 s); --warmup-seconds sets it; negative is bad input.
        var root = new System.CommandLine.RootCommand { new System.CommandLine.Command("bench") { BenchServeCommand.Create() } };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--seconds", "0.2", "--json"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.True(JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("results")[0].GetProperty("warmupSeconds").GetDouble() >= 0.2);
        using var stdout2 = new StringWriter();
        code = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--seconds", "0.1", "--warmup-seconds", "0.3", "--json"], stdout2, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.True(JsonDocument.Parse(stdout2.ToString()).RootElement.GetProperty("results")[0].GetProperty("warmupSeconds").GetDouble() >= 0.3);
        var negative = await CliRunner.RunAsync(root, ["bench", "serve", "--server", server.GrpcUrl, "--model", "mean_u8", "--warmup-seconds", "-1"], new StringWriter(), stderr);
        Assert.Equal(CliRunner.BadInput, negative);
    }

    [Fact]
    public async Task ServeVerbRejectsAMissingRepository()
    {
        var root = new System.CommandLine.RootCommand { ServeCommand.Create() };
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(root, ["serve", "--model-repository", "/nonexistent/repo"], new StringWriter(), stderr);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("does not exist", stderr.ToString(), StringComparison.Ordinal);
    }
}
