using System.CommandLine;
using System.Text.Json;
using Histoscale.Cli.Commands;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;

namespace Histoscale.Cli.Tests.Commands;

public class BenchInferCommandTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var bench = new Command("bench") { BenchInferCommand.Create() };
        var root = new RootCommand("test") { bench };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(root, ["bench", "infer", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task ReportsTilesPerSecondAsJsonForRepositoryModelAndBareOnnx()
    {
        var dir = Path.Combine(Path.GetTempPath(), "histoscale-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var modelDir = ModelRepositoryWriter.Write(dir, DemoModels.MeanIntensity(TensorDataType.UInt8, 32));
            var (code, stdout, stderr) = await Run("--model", modelDir, "--batch", "4", "--iterations", "3", "--warmup", "1", "--json");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            Assert.True(doc.RootElement.GetProperty("tilesPerSecond").GetDouble() > 0);
            Assert.Equal(12, doc.RootElement.GetProperty("tiles").GetInt64());
            Assert.Equal("UINT8", doc.RootElement.GetProperty("inputDatatype").GetString());

            var onnx = Path.Combine(dir, "m.onnx");
            File.Copy(Path.Combine(modelDir, "1", "model.onnx"), onnx);
            (code, stdout, stderr) = await Run("--model", onnx, "--batch", "2", "--iterations", "2", "--instances", "2");
            Assert.True(code == 0, stderr);
            Assert.Contains("tiles/s", stdout);

            (code, _, stderr) = await Run("--model", modelDir, "--batch", "1000");
            Assert.Equal(CliRunner.BadInput, code);
            Assert.Contains("max_batch_size", stderr);
            (code, _, stderr) = await Run("--model", Path.Combine(dir, "missing.onnx"));
            Assert.Equal(CliRunner.BadInput, code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
