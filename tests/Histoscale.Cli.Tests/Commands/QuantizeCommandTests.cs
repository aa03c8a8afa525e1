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

    /// <summary>
    /// A calibration tile with scrambled scan data (markers intact) used to end the command; it is skipped, counted and
    /// named by slide, level and tile. Only when fewer than half of the sampled tiles can be read is the calibration
    /// refused (exit 2), with that message.
    /// </summary>
    [Fact]
    public async Task CorruptCalibrationTilesAreSkippedAndNamedUntilTooFewRemain()
    {
        var clean = Path.Combine(_dir, "clean.svs");
        // 240-px slide tiles at the model's scale: one plan tile per slide tile, 7×5 of them.
        SlideSynthesizer.Write(clean, new SynthOptions { Width = 1500, Height = 1100, Seed = 6, MicronsPerPixel = 0.499, MaxDegreeOfParallelism = 2 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.SmallCnn(tileSize: 240, name: "small_cnn_240"));
        var one = Path.Combine(_dir, "one.svs");
        var bytes = File.ReadAllBytes(clean);
        Histoscale.Slides.Tests.Support.TileDamage.ScrambleJpegScan(bytes, (2 * 7) + 3, seed: 3); // level 0 tile (3,2)
        File.WriteAllBytes(one, bytes);

        var (code, stdout, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--calibrate", one, "--no-tissue", "--tiles", "35", "--check", "0", "--out", Path.Combine(_dir, "int8"), "--json");
        Assert.True(code == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(34, report.GetProperty("calibrationTiles").GetInt32());
        Assert.Equal(1, report.GetProperty("skippedTiles").GetInt32());
        var cause = report.GetProperty("skippedCauses")[0].GetString();
        Assert.Contains("one.svs", cause);
        Assert.Contains("level 0 tile (3,2)", cause);
        (code, stdout, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--calibrate", one, "--no-tissue", "--tiles", "35", "--check", "0", "--out", Path.Combine(_dir, "int8-text"));
        Assert.True(code == 0, stderr);
        Assert.Contains("skipped 1 unreadable sampled tile(s)", stdout);

        // 18 of the 35 tiles damaged: fewer than half remain.
        var most = Path.Combine(_dir, "most.svs");
        bytes = File.ReadAllBytes(clean);
        for (var tile = 0; tile < 18; tile++)
        {
            Histoscale.Slides.Tests.Support.TileDamage.ScrambleJpegScan(bytes, tile, seed: 10 + tile);
        }
        File.WriteAllBytes(most, bytes);
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--calibrate", most, "--no-tissue", "--tiles", "35", "--check", "0", "--out", Path.Combine(_dir, "int8-most"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("18 of 35 sampled calibration tiles could not be read", stderr);
        Assert.Contains("too few remain (17", stderr);
        Assert.Contains("most.svs: level 0 tile (0,0)", stderr);
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

    [Fact]
    public async Task Fp16WritesARepositoryModelWithTheFloat32InterfaceThatInferRuns()
    {
        var slide = Path.Combine(_dir, "f.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 600, Height = 500, Seed = 6 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.SmallCnn(tileSize: 32));
        var repo = Path.Combine(_dir, "fp16");

        var (code, stdout, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--fp16", "--out", repo, "--json");
        Assert.True(code == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("fp16", report.GetProperty("format").GetString());
        Assert.True(report.GetProperty("initializers").GetInt32() > 0);
        var entry = Path.Combine(repo, "small_cnn_fp16");
        var config = ModelConfigReader.ReadFile(Path.Combine(entry, "config.pbtxt"));
        Assert.Equal("small_cnn_fp16", config.Name);
        Assert.Equal(Histoscale.Inference.Tensors.TensorDataType.Fp32, config.Inputs.Single().DataType);

        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", entry, "--out", Path.Combine(_dir, "out16"), "--batch", "8");
        Assert.True(code == 0, stderr);

        // Bad input: exit 2 with one line naming what was wrong.
        var junk = Path.Combine(_dir, "junk.onnx");
        File.WriteAllText(junk, "junk");
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", junk, "--fp16", "--out", Path.Combine(_dir, "j.onnx"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("not a valid ONNX", stderr);
        Assert.Contains("junk.onnx", stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", Path.Combine(entry, "1", "model.onnx"), "--fp16", "--out", Path.Combine(_dir, "k.onnx"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("already has float16", stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("quantize", "--model", model, "--out", Path.Combine(_dir, "x"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--calibrate is required", stderr);
    }

    [Fact]
    public async Task GpuOnlyDeviceFlagsAreRefusedOnTheCpuBuildOrDevice()
    {
        var model = Path.Combine(_dir, "cnn.onnx");
        File.WriteAllBytes(model, DemoModels.SmallCnn(tileSize: 32).Onnx);
        var (code, _, stderr) = await ReaderCommandsTests.Run("bench", "infer", "--model", model, "--batch", "2", "--iterations", "1", "--trt-fp16");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("need --device tensorrt", stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("bench", "infer", "--model", model, "--batch", "2", "--iterations", "1", "--device", "cuda", "--cuda-arena", "huge");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("expected pow2 or same", stderr);
        if (!Histoscale.Inference.OnnxRuntime.ExecutionProviders.Available().Contains(Histoscale.Inference.OnnxRuntime.ExecutionProviders.CudaProvider))
        {
            (code, _, stderr) = await ReaderCommandsTests.Run("bench", "infer", "--model", model, "--batch", "2", "--iterations", "1", "--device", "cuda", "--cudnn-conv-search", "heuristic");
            Assert.Equal(CliRunner.BadInput, code);
            Assert.Contains("this build has no CUDA provider", stderr);
            Assert.Contains("use the GPU image / -p:HistoscaleGpu=true", stderr);
        }
        (code, var stdout, stderr) = await ReaderCommandsTests.Run("bench", "infer", "--model", model, "--batch", "2", "--iterations", "1", "--warmup", "0", "--io-binding", "on", "--json");
        Assert.True(code == 0, stderr);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("ioBinding").GetBoolean());
    }
}
