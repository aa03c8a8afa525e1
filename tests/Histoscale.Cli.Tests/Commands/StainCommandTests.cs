using System.Text.Json;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>stain fit</c> and <c>infer --stain-normalize</c> as a user runs them: the target file, run.json, and exit 2 for bad targets.</summary>
public sealed class StainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-stain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Slide(string name, int seed, float[]? h = null, float[]? e = null)
    {
        var path = Path.Combine(_dir, name);
        SlideSynthesizer.Write(path, new SynthOptions { Width = 1200, Height = 900, Seed = seed, HaematoxylinOd = h, EosinOd = e, MaxDegreeOfParallelism = 2 });
        return path;
    }

    [Fact]
    public async Task StainFitWritesTheDocumentedTargetForEachMethod()
    {
        var slide = Slide("target.svs", 4);
        foreach (var method in new[] { "macenko", "vahadane", "reinhard" })
        {
            var target = Path.Combine(_dir, method + ".json");
            var (code, _, stderr) = await ReaderCommandsTests.Run("stain", "fit", slide, "--method", method, "--out", target);
            Assert.True(code == 0, stderr);
            var root = JsonDocument.Parse(File.ReadAllText(target)).RootElement;
            Assert.Equal(method, root.GetProperty("method").GetString());
            if (method == "reinhard")
            {
                Assert.Equal(3, root.GetProperty("labMean").GetArrayLength());
                Assert.All(root.GetProperty("labStd").EnumerateArray(), s => Assert.True(s.GetDouble() > 0));
            }
            else
            {
                var matrix = root.GetProperty("stainMatrix");
                Assert.Equal(2, matrix.GetArrayLength());
                foreach (var row in matrix.EnumerateArray())
                {
                    Assert.Equal(1, Math.Sqrt(row.EnumerateArray().Sum(v => v.GetDouble() * v.GetDouble())), 1e-9);
                }
                // Hematoxylin first: more red absorption than eosin.
                Assert.True(matrix[0][0].GetDouble() > matrix[1][0].GetDouble());
                Assert.All(root.GetProperty("maxConcentrations").EnumerateArray(), m => Assert.True(m.GetDouble() > 0));
            }
        }
    }

    [Fact]
    public async Task InferNormalisesToATargetFileOrSlideAndBadTargetsExit2()
    {
        var target = Slide("target.svs", 4);
        var slide = Slide("shifted.svs", 6, [0.42f, 0.92f, 0.45f], [0.16f, 1.10f, 0.48f]);
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var targetJson = Path.Combine(_dir, "t.json");
        Assert.Equal(0, (await ReaderCommandsTests.Run("stain", "fit", target, "--method", "reinhard", "--out", targetJson)).Code);

        var outDir = Path.Combine(_dir, "out");
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", outDir, "--stain-normalize", "reinhard", "--stain-target", targetJson);
        Assert.True(code == 0, stderr);
        var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json"))).RootElement;
        Assert.Equal("reinhard", run.GetProperty("parameters").GetProperty("stainNormalize").GetProperty("method").GetString());
        Assert.Equal(3, run.GetProperty("slides")[0].GetProperty("stain").GetProperty("labMean").GetArrayLength());

        // A slide as the target: fitted on the fly.
        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", Path.Combine(_dir, "out2"), "--stain-normalize", "macenko", "--stain-target", target);
        Assert.True(code == 0, stderr);

        var broken = Path.Combine(_dir, "broken.json");
        File.WriteAllText(broken, "{\"method\":\"macenko\",\"stainMatrix\":[[1,0,0]]}");
        var notJson = Path.Combine(_dir, "notjson.json");
        File.WriteAllText(notJson, "stain!");
        foreach (var (args, expected) in new (string[] Args, string Expected)[]
        {
            (["--stain-normalize", "fancy", "--stain-target", targetJson], "fancy"),
            (["--stain-normalize", "macenko", "--stain-target", targetJson], "reinhard target"),
            (["--stain-normalize", "macenko", "--stain-target", broken], "stainMatrix"),
            (["--stain-normalize", "macenko", "--stain-target", notJson], "not valid JSON"),
            (["--stain-normalize", "macenko", "--stain-target", Path.Combine(_dir, "missing.json")], "missing.json"),
            (["--stain-normalize", "macenko"], "--stain-target"),
            (["--stain-target", targetJson], "--stain-normalize"),
        })
        {
            (code, _, stderr) = await ReaderCommandsTests.Run(["infer", slide, "--model", model, "--out", Path.Combine(_dir, "bad"), .. args]);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}, {stderr}");
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        (code, _, stderr) = await ReaderCommandsTests.Run("stain", "fit", slide, "--method", "nope", "--out", Path.Combine(_dir, "x.json"));
        Assert.Equal(2, code);
        Assert.Contains("nope", stderr);
    }
}
