using System.Text.Json;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>cost</c> and <c>simulate</c> as a user runs them: the JSON contract, the formula, measuring, exit codes.</summary>
public sealed class CostCommandsTests : IDisposable
{
    private static readonly string[] RowKeys =
    [
        "cloud", "assetClass", "instanceType", "accelerator", "vcpus", "pricePerHour", "spot", "tilesPerSecond", "throughputSource",
        "dollarsPerSlide", "slidesPerHour", "dollarsPerYear",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-cost-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Model() => ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.MeanIntensity(Inference.Tensors.TensorDataType.UInt8, 32));

    [Fact]
    public async Task CostPrintsTheMapAsJsonWithTheIssuesColumnsAndFormula()
    {
        var map = Path.Combine(_dir, "map.png");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("cost", "--model", Model(), "--tiles-per-slide", "1000", "--slides-per-year", "2000", "--json", "--plot", map);
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", root.GetProperty("priceTableDate").GetString());
        Assert.Equal(1000, root.GetProperty("slide").GetProperty("tilesPerSlide").GetDouble());
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows.Count >= 15);
        foreach (var row in rows)
        {
            foreach (var key in RowKeys)
            {
                Assert.True(row.TryGetProperty(key, out _), key);
            }
        }
        var g5 = rows.Single(r => r.GetProperty("id").GetString() == "aws-g5-xlarge-a10g");
        var price = g5.GetProperty("pricePerHour").GetDouble();
        var tps = g5.GetProperty("tilesPerSecond").GetDouble();
        Assert.Equal("published", g5.GetProperty("throughputSource").GetString());
        Assert.Equal(price / 3600 * 1000 / tps, g5.GetProperty("dollarsPerSlide").GetDouble(), 12);
        Assert.Equal(price / 3600 * 1000 / tps * 2000, g5.GetProperty("dollarsPerYear").GetDouble(), 9);
        // Nothing measured and no figure given: CPU rows say so rather than inventing one.
        var cpu = rows.Single(r => r.GetProperty("id").GetString() == "aws-c7g-xlarge");
        Assert.Equal("unknown", cpu.GetProperty("throughputSource").GetString());
        Assert.Equal(JsonValueKind.Null, cpu.GetProperty("dollarsPerSlide").ValueKind);
        var storage = root.GetProperty("storage").EnumerateArray().ToList();
        Assert.Contains(storage, s => s.GetProperty("cloud").GetString() == "aws" && s.GetProperty("coldClass").GetString() == "aws-s3-deep-archive");
        Assert.All(storage, s => Assert.True(s.GetProperty("dollarsPerYear").GetDouble() > 0));
        AssertPng(map);

        (code, stdout, _) = await ReaderCommandsTests.Run("cost", "--list-assets");
        Assert.Equal(0, code);
        Assert.Contains("gcp-g2-standard-4-l4", stdout);
        Assert.Contains("azure-nc4as-t4-v3", stdout);
    }

    [Fact]
    public async Task MeasureRunsTheModelAndThePipelineHereAndScalesPerVcpu()
    {
        var slide = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 800, Height = 600, Seed = 4 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("cost", "--model", model, "--slide", slide, "--measure", "--measure-seconds", "0.3", "--batch", "8", "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.True(root.GetProperty("slide").GetProperty("tilesPerSlide").GetDouble() > 0);
        Assert.Equal("planned", root.GetProperty("slide").GetProperty("tilesPerSlideSource").GetString());
        Assert.Equal(new FileInfo(slide).Length, root.GetProperty("slide").GetProperty("bytesPerSlide").GetDouble());
        var m = root.GetProperty("measurement");
        Assert.True(m.GetProperty("modelTilesPerSecond").GetDouble() > 0);
        Assert.True(m.GetProperty("pipelineTilesPerSecond").GetDouble() > 0);
        var perVcpu = m.GetProperty("tilesPerSecondPerVcpu").GetDouble();
        var arch = m.GetProperty("arch").GetString();
        foreach (var row in root.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("assetClass").GetString() != "vm-gpu"))
        {
            Assert.Contains(row.GetProperty("throughputSource").GetString(), new[] { "measured", "scaled" });
            Assert.Equal(perVcpu * row.GetProperty("vcpus").GetInt32(), row.GetProperty("tilesPerSecond").GetDouble(), 6);
        }
        Assert.Contains(root.GetProperty("rows").EnumerateArray(), r => r.GetProperty("throughputSource").GetString() == "measured");
        Assert.False(string.IsNullOrEmpty(arch));
    }

    [Fact]
    public async Task BadInputExitsTwoWithOneLineNamingIt()
    {
        var model = Model();
        var (code, _, stderr) = await ReaderCommandsTests.Run("cost", "--model", model);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--tiles-per-slide", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("cost", "--model", model, "--tiles-per-slide", "10", "--tiles-per-second", "no-such-asset=5");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("no-such-asset", stderr);

        var prices = Path.Combine(_dir, "prices.yaml");
        var yaml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "prices.yaml"));
        File.WriteAllText(prices, yaml.Replace("pricePerHour: 1.006", "pricePerHour: free", StringComparison.Ordinal));
        (code, _, stderr) = await ReaderCommandsTests.Run("cost", "--model", model, "--tiles-per-slide", "10", "--prices", prices);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("'aws-g5-xlarge-a10g': field 'pricePerHour'", stderr);
        Assert.Single(stderr.Trim().Split('\n'));

        (code, _, stderr) = await ReaderCommandsTests.Run("simulate", "--asset", "aws-g5", "--tiles-per-slide", "1000");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("did you mean", stderr);
        (code, _, _) = await ReaderCommandsTests.Run("simulate", "--asset", "aws-g5-xlarge-a10g", "--tiles-per-slide", "1000", "--policy", "magic");
        Assert.Equal(CliRunner.BadInput, code);
        (code, _, stderr) = await ReaderCommandsTests.Run("simulate", "--asset", "aws-g5-xlarge-a10g", "--tiles-per-slide", "1000", "--policy", "hpa-queue-time", "--min-replicas", "0");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("min-replicas", stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("simulate", "--asset", "aws-c7g-xlarge", "--tiles-per-slide", "1000");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("no throughput", stderr);
        var trace = Path.Combine(_dir, "bad.txt");
        File.WriteAllText(trace, "10\nten\n");
        (code, _, stderr) = await ReaderCommandsTests.Run("simulate", "--asset", "aws-g5-xlarge-a10g", "--tiles-per-slide", "1000", "--pattern", "trace:" + trace);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("line 2", stderr);
    }

    [Fact]
    public async Task SimulatePrintsTheIssuesKeysAndATraceRoundTrips()
    {
        var trace = Path.Combine(_dir, "arrivals.txt");
        string[] common = ["simulate", "--asset", "aws-g5-xlarge-a10g", "--tiles-per-slide", "20000", "--days", "2", "--slides-per-year", "200000", "--json"];
        var timeline = Path.Combine(_dir, "timeline.png");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run([.. common, "--pattern", "bursty", "--write-trace", trace, "--plot", timeline]);
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        foreach (var key in new[] { "slides", "arrivalsPerHour", "costPerMonth", "p50TurnaroundMinutes", "p95TurnaroundMinutes", "meanTurnaroundMinutes", "meanInSystem", "meanReplicas", "maxReplicas", "perDay" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }
        Assert.Equal(root.GetProperty("slides").GetInt32(), root.GetProperty("completed").GetInt32());
        // Two days of arrivals (plus a partial day when the last replicas finish or stop after midnight).
        Assert.InRange(root.GetProperty("perDay").GetArrayLength(), 2, 3);
        Assert.Equal(root.GetProperty("slides").GetInt32(), root.GetProperty("perDay").EnumerateArray().Sum(d => d.GetProperty("arrivals").GetInt32()));

        (code, var again, stderr) = await ReaderCommandsTests.Run([.. common, "--pattern", "trace:" + trace]);
        Assert.True(code == 0, stderr);
        var back = JsonDocument.Parse(again).RootElement;
        Assert.Equal(root.GetProperty("slides").GetInt32(), back.GetProperty("slides").GetInt32());
        Assert.Equal(root.GetProperty("costPerMonth").GetDouble(), back.GetProperty("costPerMonth").GetDouble());
        Assert.Equal(root.GetProperty("p95TurnaroundMinutes").GetDouble(), back.GetProperty("p95TurnaroundMinutes").GetDouble());
        AssertPng(timeline);
    }

    private static void AssertPng(string path)
    {
        var head = File.ReadAllBytes(path).Take(8).ToArray();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, head);
    }
}
