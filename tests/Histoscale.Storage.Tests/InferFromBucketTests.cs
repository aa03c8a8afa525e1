using System.Text.Json;
using Histoscale.Cli;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary><c>histoscale infer</c> over a bucket/container prefix writes the same tile tables as over the local folder.</summary>
public sealed class InferFromBucketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-infer-bucket-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task BucketPrefixGivesTheSameTilesCsvAsTheLocalFolder(string store)
    {
        Stores.Require(store);
        var local = Directory.CreateDirectory(Path.Combine(_dir, "slides")).FullName;
        var prefix = $"infer-{Guid.NewGuid():N}/";
        foreach (var (name, seed) in new[] { ("one.svs", 21), ("two.svs", 22) })
        {
            var path = Path.Combine(local, name);
            SlideSynthesizer.Write(path, new SynthOptions { Width = 1400, Height = 1000, Seed = seed });
            Stores.Put(store, prefix + name, File.ReadAllBytes(path));
        }
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var fromDisk = Path.Combine(_dir, "out-local");
        var fromStore = Path.Combine(_dir, "out-" + store);
        Assert.Equal(0, await Run("infer", local, "--model", model, "--out", fromDisk, "--batch", "8"));
        Assert.Equal(0, await Run("infer", Stores.Uri(store, prefix), "--model", model, "--out", fromStore, "--batch", "8"));
        foreach (var name in new[] { "one", "two" })
        {
            Assert.Equal(File.ReadAllText(Path.Combine(fromDisk, $"{name}.tiles.csv")), File.ReadAllText(Path.Combine(fromStore, $"{name}.tiles.csv")));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task AnObjectReplacedUnderTheSameKeyIsInferredAfreshAndRunJsonSaysWhy(string store)
    {
        Stores.Require(store);
        var local = Directory.CreateDirectory(Path.Combine(_dir, "slides")).FullName;
        byte[] Synthesise(int seed)
        {
            var path = Path.Combine(local, $"{seed}.svs");
            SlideSynthesizer.Write(path, new SynthOptions { Width = 1000, Height = 800, Seed = seed });
            return File.ReadAllBytes(path);
        }
        // Two slides of the same size, so only the store's content identity (ETag, generation) tells them apart.
        var (first, second) = (Synthesise(31), Synthesise(32));
        var length = Math.Max(first.Length, second.Length);
        Array.Resize(ref first, length);
        Array.Resize(ref second, length);
        var uri = Stores.Uri(store, $"replace-{Guid.NewGuid():N}/case.svs");
        var key = uri[$"{store}://{Stores.Bucket}/".Length..];
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var outDir = Path.Combine(_dir, "out");
        var csv = Path.Combine(outDir, "case.tiles.csv");
        string[] infer = ["infer", uri, "--model", model, "--out", outDir, "--batch", "8"];

        Stores.Put(store, key, first);
        await Run(infer);
        var before = File.ReadAllText(csv);
        await Run(infer);
        Assert.Equal("skipped", RunJsonSlide(outDir).GetProperty("status").GetString());
        Assert.False(RunJsonSlide(outDir).TryGetProperty("rerunReason", out _));

        Stores.Put(store, key, second);
        await Run(infer);
        var entry = RunJsonSlide(outDir);
        Assert.Equal("completed", entry.GetProperty("status").GetString());
        Assert.NotEqual(before, File.ReadAllText(csv));
        var reason = entry.GetProperty("rerunReason").GetString();
        Assert.StartsWith("content changed: ", reason);
        Assert.Contains("ETag", reason);
    }

    private static JsonElement RunJsonSlide(string outDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json"))).RootElement.GetProperty("slides")[0];

    private static async Task<int> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
        Assert.True(code == 0, $"{string.Join(' ', args)} exited {code}: {stderr}");
        return code;
    }
}
