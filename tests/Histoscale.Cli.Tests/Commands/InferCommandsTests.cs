using System.Text.Json;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Synthesis;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>infer</c> and <c>demo</c> as a user runs them: outputs, the --json summary, and exit codes.</summary>
public sealed class InferCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-infer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task InferWritesOutputsAndJsonSummaryAndSkipsOnRerun()
    {
        var slide = Path.Combine(_dir, "a.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 1600, Height = 1200, Seed = 9 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", outDir, "--batch", "8", "--json");
        Assert.True(code == 0, stderr);
        var entry = JsonDocument.Parse(stdout).RootElement.GetProperty("slides")[0];
        Assert.Equal("a", entry.GetProperty("name").GetString());
        Assert.True(entry.GetProperty("tiles").GetInt64() > 0);
        foreach (var key in new[] { "seconds", "tilesPerSecond", "megapixelsPerSecond", "status" })
        {
            Assert.True(entry.TryGetProperty(key, out _), key);
        }
        foreach (var file in new[] { "a.tiles.csv", "a.heatmap.tif", "a.geojson", "a.annotation.json", "run.json" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        }
        Assert.Equal("x,y,width,height,tissue,background,stroma,nuclei_rich,status", File.ReadLines(Path.Combine(outDir, "a.tiles.csv")).First());
        var before = File.GetLastWriteTimeUtc(Path.Combine(outDir, "a.tiles.csv"));
        (code, stdout, _) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", outDir, "--json");
        Assert.Equal(0, code);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(outDir, "a.tiles.csv")));
    }

    [Fact]
    public async Task AFailingSlideIsReportedAndTheOthersComplete()
    {
        var good = Path.Combine(_dir, "good.svs");
        SlideSynthesizer.Write(good, new SynthOptions { Width = 1000, Height = 800, Seed = 2 });
        var bad = Path.Combine(_dir, "bad.svs");
        File.WriteAllText(bad, "not a slide");
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", bad, good, "--model", model, "--out", Path.Combine(_dir, "out"));
        Assert.Equal(CliRunner.Failure, code);
        Assert.Contains("bad.svs", stderr);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "good.tiles.csv")));
    }

    /// <summary>A --qc-* threshold without --qc would do nothing: exit 2 naming the flag, before anything is read.</summary>
    [Fact]
    public async Task QcThresholdWithoutQcExitsTwoNamingTheFlag()
    {
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", Path.Combine(_dir, "none.svs"), "--model", model, "--out", Path.Combine(_dir, "out"), "--qc-max-blur", "0.2");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--qc-max-blur needs --qc", stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    /// <summary>One tile with garbage after its scan: 1 % of the plan allows it here; --max-bad-tiles 0 fails the slide saying so; a bad value exits 2.</summary>
    [Fact]
    public async Task MaxBadTilesDecidesWhetherASlideWithAnUnreadableTileFails()
    {
        var clean = Path.Combine(_dir, "clean.svs");
        SlideSynthesizer.Write(clean, new SynthOptions { Width = 1600, Height = 1200, Seed = 9 });
        var slide = Path.Combine(_dir, "damaged.svs");
        File.WriteAllBytes(slide, Histoscale.Slides.Tests.Support.TileDamage.InsertBeforeEoi(File.ReadAllBytes(clean), (3 * 7) + 3, 64, seed: 1));
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", Path.Combine(_dir, "lenient"), "--no-tissue", "--max-bad-tiles", "100%", "--json");
        Assert.True(code == 0, stderr);
        var summary = JsonDocument.Parse(stdout).RootElement;
        Assert.True(summary.GetProperty("slides")[0].GetProperty("unreadableTiles").GetInt32() > 0);
        using var run = JsonDocument.Parse(File.ReadAllText(summary.GetProperty("runJson").GetString()!));
        Assert.Contains("level 0 tile (3,3)", run.RootElement.GetProperty("slides")[0].GetProperty("unreadableCauses")[0].GetString());
        Assert.Contains(",unreadable", File.ReadAllText(Path.Combine(_dir, "lenient", "damaged.tiles.csv")));

        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", Path.Combine(_dir, "strict"), "--no-tissue", "--max-bad-tiles", "0");
        Assert.Equal(CliRunner.Failure, code);
        Assert.Contains("could not be read, more than --max-bad-tiles allows (0)", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "strict", "damaged.tiles.csv")));

        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", Path.Combine(_dir, "x"), "--max-bad-tiles", "lots");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--max-bad-tiles", stderr);
    }

    [Fact]
    public async Task BadModelOrOutputExitsTwo()
    {
        var slide = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 600, Height = 500, Seed = 2 });
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", Path.Combine(_dir, "missing.onnx"), "--out", Path.Combine(_dir, "o"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("missing.onnx", stderr);
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var blocker = Path.Combine(_dir, "file-not-folder");
        File.WriteAllText(blocker, "x");
        (code, _, _) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", blocker);
        Assert.Equal(CliRunner.BadInput, code);

        // A model ONNX Runtime rejects (its sessions load while the first slide is prepared): still exit 2 with ORT's
        // reason, and nothing recorded.
        var b = new OnnxModelBuilder("rejected");
        b.Input("image", TensorDataType.UInt8, "N", 3, 64, 64);
        b.Node("NoSuchOperator", ["image"], "score");
        b.Output("score", TensorDataType.Fp32, "N", 1);
        var rejected = Path.Combine(_dir, "rejected.onnx");
        b.Save(rejected);
        var rejectedOut = Path.Combine(_dir, "o-rejected");
        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", rejected, "--out", rejectedOut);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("ONNX Runtime cannot create a session", stderr);
        Assert.Contains("NoSuchOperator", stderr);
        Assert.False(File.Exists(Path.Combine(rejectedOut, "run.json")));
    }

    [Fact]
    public async Task DemoRunsEndToEnd()
    {
        var outDir = Path.Combine(_dir, "demo");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("demo", "--out", outDir, "--width", "2400", "--height", "1800");
        Assert.True(code == 0, stderr);
        Assert.Contains("heatmap.tif", stdout);
        Assert.True(Directory.EnumerateFiles(outDir, "*.geojson", SearchOption.AllDirectories).Any());
    }
}
