using System.Globalization;
using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Sampling;
using Histoscale.Pipeline.Tests.Support;

namespace Histoscale.Pipeline.Tests.Sampling;

public class TileSamplerTests
{
    [Fact]
    public async Task SampledTilesAreExactlyWhatInferenceFeedsTheModel()
    {
        using var dir = new TempDir();
        var slide = TestData.Slide(seed: 3);
        // 240-px tiles at the slide's resolution: aligned with the slide's own tiles, so infer takes its planar
        // decode path while the sampler packs RGBA; both must give the model the same numbers.
        var modelDir = TestData.Model(DemoModels.SmallCnn(tileSize: 240, name: "small_cnn_240"));
        var options = PipelineHarness.Options(dir["out"]);
        await PipelineHarness.RunAsync(modelDir, [slide], options);
        var table = File.ReadLines(Path.Combine(dir["out"], Path.GetFileNameWithoutExtension(slide) + ".tiles.csv")).Skip(1)
            .SelectMany(line => line.Split(',')[5..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture))).ToArray();

        var model = ModelDescription.Load(modelDir);
        var sampler = new TileSampler(model, options);
        var all = sampler.Pick([slide], int.MaxValue);
        Assert.Equal(table.Length / 4, all.Count);
        Assert.Equal(Enumerable.Range(0, all.Count), all.Select(p => p.PlanIndex));

        await using var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 1, IntraOpThreads = 1, WarmupBatchSize = 0 });
        var values = new List<float>();
        foreach (var batch in sampler.Batches(all, 8))
        {
            using var inputs = new TensorSet().Add(model.ImageInput.Name, batch);
            using var outputs = await backend.ExecuteAsync(inputs);
            values.AddRange(outputs[0].Tensor.AsSpan<float>());
        }
        Assert.Equal(table, values);

        // A smaller pick is evenly spread: first and last stretches both represented, no repeats.
        var five = sampler.Pick([slide], 5).Select(p => p.PlanIndex).ToArray();
        Assert.Equal(five.Distinct(), five);
        Assert.True(five[0] < all.Count / 5 && five[^1] >= all.Count * 4 / 5, string.Join(",", five));
    }
}
