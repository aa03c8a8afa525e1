using Histoscale.Cli;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Server.Tests.Support;
using Histoscale.Synthesis;

namespace Histoscale.Server.Tests;

/// <summary><c>histoscale infer --server</c> over gRPC and HTTP gives the same tile table as in-process ONNX Runtime.</summary>
public sealed class InferAgainstServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-infer-server-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RemoteRunsMatchTheInProcessRun()
    {
        var slide = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 1600, Height = 1200, Seed = 31 });
        var repository = Path.Combine(_dir, "models");
        var model = ModelRepositoryWriter.Write(repository, DemoModels.TissueClassifier());
        Assert.Equal(0, await Run("infer", slide, "--model", model, "--out", Path.Combine(_dir, "local"), "--batch", "8"));
        await using var server = await ServerFixture.StartAsync(repository);
        foreach (var (scheme, port) in new[] { ("grpc", server.GrpcPort), ("http", server.HttpPort) })
        {
            var url = $"{scheme}://127.0.0.1:{port}";
            var result = await RunWithErrors("infer", slide, "--server", url, "--model", "tissue_classifier", "--out", Path.Combine(_dir, scheme), "--batch", "4", "--concurrency", "3");
            Assert.True(result == "0", result);
            Assert.Equal(File.ReadAllText(Path.Combine(_dir, "local", "s.tiles.csv")), File.ReadAllText(Path.Combine(_dir, scheme, "s.tiles.csv")));
        }
        Assert.Equal(CliRunner.BadInput, await Run("infer", slide, "--server", $"grpc://127.0.0.1:{server.GrpcPort}", "--model", "no_such_model", "--out", Path.Combine(_dir, "x")));

        // A co-located worker through system shared memory writes the same table.
        var shm = await RunWithErrors("infer", slide, "--server", $"grpc://127.0.0.1:{server.GrpcPort}", "--model", "tissue_classifier", "--out", Path.Combine(_dir, "shm"), "--batch", "4", "--concurrency", "3", "--shared-memory", "system");
        Assert.True(shm == "0", shm);
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "local", "s.tiles.csv")), File.ReadAllText(Path.Combine(_dir, "shm", "s.tiles.csv")));
        Assert.Equal(CliRunner.BadInput, await Run("infer", slide, "--server", $"http://127.0.0.1:{server.HttpPort}", "--model", "tissue_classifier", "--out", Path.Combine(_dir, "y"), "--shared-memory", "system"));
    }

    private static async Task<string> RunWithErrors(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
        return code == 0 ? "0" : $"{code}: {stderr.ToString().Split('\n').LastOrDefault(l => l.Contains("histoscale:")) ?? stderr.ToString()}";
    }

    private static async Task<int> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        return await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
    }
}
