using System.Globalization;
using System.Text.Json;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Sampling;
using Histoscale.Pipeline.Staining;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Stain;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Stain;

/// <summary><see cref="Runs.RunOptions.Stain"/> through a whole run: what the model sees, run.json, the settings key.</summary>
public sealed class StainRunTests
{
    private static readonly float[] ShiftedH = [0.42f, 0.92f, 0.45f];
    private static readonly float[] ShiftedE = [0.16f, 1.10f, 0.48f];

    /// <summary>
    /// With normalisation, the run (planar decode path, tiles aligned with the slide's) feeds the model exactly the
    /// numbers the tile sampler (RGBA path) packs from the same slide, and those differ from the run without it.
    /// </summary>
    [Fact]
    public async Task NormalisedRunFeedsTheModelWhatTheSamplerPacksAndRecordsTheStain()
    {
        using var dir = new TempDir();
        var slide = TestData.StainedSlide(7, ShiftedH, ShiftedE);
        StainParameters target;
        using (var original = Slide.Open(TestData.Slide(seed: 5)))
        {
            target = SlideStain.Fit(original, StainMethod.Macenko);
        }
        var modelDir = TestData.Model(DemoModels.SmallCnn(tileSize: 240, name: "small_cnn_240"));
        var plain = PipelineHarness.Options(dir["plain"]);
        var options = PipelineHarness.Options(dir["out"]) with { Stain = new StainNormalization { Target = target, TargetSource = "target.json" } };
        await PipelineHarness.RunAsync(modelDir, [slide], plain);
        var summary = await PipelineHarness.RunAsync(modelDir, [slide], options);
        var name = Path.GetFileNameWithoutExtension(slide);
        var table = Values(Path.Combine(dir["out"], name + ".tiles.csv"));
        Assert.NotEqual(Values(Path.Combine(dir["plain"], name + ".tiles.csv")), table);

        var model = ModelDescription.Load(modelDir);
        var sampler = new TileSampler(model, options);
        var all = sampler.Pick([slide], int.MaxValue);
        await using var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 1, IntraOpThreads = 1, WarmupBatchSize = 0 });
        var values = new List<float>();
        foreach (var batch in sampler.Batches(all, 8))
        {
            using var inputs = new TensorSet().Add(model.ImageInput.Name, batch);
            using var outputs = await backend.ExecuteAsync(inputs);
            values.AddRange(outputs[0].Tensor.AsSpan<float>());
        }
        Assert.Equal(table, values);

        // run.json: the run's target and method, and this slide's own fitted stain.
        using var run = JsonDocument.Parse(File.ReadAllText(summary.RunJsonPath));
        var parameters = run.RootElement.GetProperty("parameters");
        var stain = parameters.GetProperty("stainNormalize");
        Assert.Equal("macenko", stain.GetProperty("method").GetString());
        Assert.Equal("target.json", stain.GetProperty("targetSource").GetString());
        Assert.Equal(target.MaxConcentrations![0], stain.GetProperty("target").GetProperty("maxConcentrations")[0].GetDouble());
        var own = run.RootElement.GetProperty("slides")[0].GetProperty("stain");
        Assert.Equal("macenko", own.GetProperty("method").GetString());
        Assert.Equal(2, own.GetProperty("stainMatrix").GetArrayLength());
        Assert.True(run.RootElement.GetProperty("slides")[0].GetProperty("stages").TryGetProperty("stainFit", out _));

        // The settings key includes the stain options and the target's numbers; a run without them keeps its own.
        using var plainRun = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["plain"], "run.json")));
        Assert.False(plainRun.RootElement.GetProperty("parameters").TryGetProperty("stainNormalize", out _));
        Assert.False(plainRun.RootElement.GetProperty("slides")[0].TryGetProperty("stain", out _));
        var key = parameters.GetProperty("settingsKey").GetString();
        Assert.NotEqual(plainRun.RootElement.GetProperty("parameters").GetProperty("settingsKey").GetString(), key);
        var otherTarget = StainParameters.ForStainVectors(StainMethod.Macenko, target.StainMatrix![0], target.StainMatrix[1], target.MaxConcentrations[0] * 1.1, target.MaxConcentrations[1]);
        var rerun = await PipelineHarness.RunAsync(modelDir, [slide], options with { Stain = options.Stain with { Target = otherTarget } });
        Assert.Equal(Histoscale.Pipeline.Runs.SlideSummary.Completed, rerun.Slides[0].Status);
        Assert.Contains("settings changed", rerun.Slides[0].RerunReason);
    }

    private static float[] Values(string csv) => [.. File.ReadLines(csv).Skip(1)
        .SelectMany(line => line.Split(',')[5..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)))];
}
