using System.Text.Json;
using Histoscale.Inference.Config;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>quantize</c> as a user runs it: calibrate on a slide, get a model infer runs, and exit codes.</summary>
public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-quantize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task QuantizeWritesARepositoryModelThatInferRuns()
    {
        var slide = Path.Combine(_dir, "a.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 1000, Height = 800, Seed = 4 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.SmallCnn(tileSize: 32));
        var repo = Path.Combine(_dir, "int8");

        var (code, stdout, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--calibrate", slide, "--tiles", "24", "--check", "8", "--out", repo, "--json");
        Assert.True(code == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(24, report.GetProperty("calibrationTiles").GetInt32());
        Assert.Equal(3, report.GetProperty("quantized").GetProperty("Conv").GetInt32());
        var check = report.GetProperty("check");
        Assert.Equal(8, check.GetProperty("tiles").GetInt32());
        Assert.True(check.GetProperty("meanCosine").GetDouble() > 0.99, stdout);

        // Same inputs, outputs and histoscale.* parameters under the new name.
        var entry = Path.Combine(repo, "small_cnn_int8");
        var config = ModelConfigReader.ReadFile(Path.Combine(entry, "config.pbtxt"));
        Assert.Equal("small_cnn_int8", config.Name);
        Assert.Equal("logits", config.Outputs.Single().Name);
        Assert.Equal("123.675,116.28,103.53", config.Parameters["histoscale.mean"]);
        Assert.True(File.Exists(Path.Combine(entry, "1", "model.onnx")));

        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", entry, "--out", Path.Combine(_dir, "out"), "--batch", "16");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "a.tiles.csv")));

        // Quantizing the result again is refused as a model error.
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", entry, "--calibrate", slide, "--out", Path.Combine(_dir, "again"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("already quantized", stderr);
    }

    [Fact]
    public async Task ABareOnnxGivesABareOnnxWithTheTextReport()
    {
        var slide = Path.Combine(_dir, "b.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 800, Height = 600, Seed = 5 });
        var fp32 = Path.Combine(_dir, "cnn.onnx");
        File.WriteAllBytes(fp32, DemoModels.SmallCnn(tileSize: 32).Onnx);
        var int8 = Path.Combine(_dir, "cnn_int8.onnx");

        var (code, stdout, stderr) = await ReaderCommandsTests.Run("quantize", "--model", fp32, "--calibrate", slide, "--tiles", "8", "--check", "0",
            "--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375", "--method", "percentile", "--format", "qoperator", "--out", int8);
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(int8));
        Assert.Contains("quantized 7 nodes", stdout);
        Assert.Contains("not checked", stdout);
    }

    [Fact]
    public async Task BadFlagsAndModelsExitTwo()
    {
        var slide = Path.Combine(_dir, "c.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 600, Height = 500, Seed = 2 });
        var fp32 = Path.Combine(_dir, "cnn.onnx");
        File.WriteAllBytes(fp32, DemoModels.SmallCnn(tileSize: 32).Onnx);
        var outDir = Path.Combine(_dir, "out");

        var (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", fp32, "--calibrate", slide, "--method", "kl", "--out", outDir);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--method", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", fp32, "--calibrate", Path.Combine(_dir, "none.svs"), "--out", outDir);
        Assert.Equal(CliRunner.BadInput, code);

        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", fp32, "--calibrate", slide, "--out", fp32);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("overwrite", stderr);

        var mean = Path.Combine(_dir, "mean.onnx");
        File.WriteAllBytes(mean, DemoModels.MeanIntensity(Inference.Tensors.TensorDataType.Fp32, 32).Onnx);
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", mean, "--calibrate", slide, "--out", outDir);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("nothing to quantize", stderr);
    }
}
