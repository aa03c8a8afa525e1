using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Histoscale.Inference.Models;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Quality;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Staining;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Slides.Tests.Support;
using Histoscale.Stain;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// The settings key of a run under default options is the key runs had before <c>--max-bad-tiles</c> was part of it
/// (so an upgrade does not rerun finished slides), run.json of a clean slide is as before, and no part of the key
/// depends on the user's culture.
/// </summary>
public class SettingsKeyTests
{
    private static string ModelDir => TestData.Model(DemoModels.SmallCnn(tileSize: 240, name: "small_cnn_240"));

    /// <summary>The key as it was computed before the bad-tile limit joined it (kept here on purpose, not shared).</summary>
    private static string OldKey(ModelDescription model, RunOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var file = new FileInfo(model.ModelPath);
        var identity = file.Exists ? $"{file.Length.ToString(inv)}|{file.LastWriteTimeUtc.Ticks.ToString(inv)}" : model.ModelPath;
        var p = model.Parameters;
        var text = string.Join('|',
            model.Name, model.Version.ToString(inv), identity,
            model.TileSize!.Value.ToString(inv), (o.TargetMpp ?? p.Mpp ?? TilePlanOptions.DefaultMpp).ToString("R", inv),
            o.Overlap.ToString(inv), o.DetectTissue ? o.MinTissue.ToString("R", inv) : "all",
            o.Tissue.ToString(), o.Threshold.ToString("R", inv),
            string.Join(',', p.Mean), string.Join(',', p.Std), p.ChannelOrder, model.Layout, p.OutputKind,
            string.Join(',', p.ClassNames), string.Join(',', p.ClassColors), model.PrimaryOutput.Name);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    [Fact]
    public async Task DefaultOptionsKeepTheOldKeyAndRunJsonOfACleanSlideHasNoTissueUnreadableTiles()
    {
        using var dir = new TempDir();
        var options = PipelineHarness.Options(dir["out"]);
        var summary = await PipelineHarness.RunAsync(ModelDir, [TestData.Slide()], options);
        var s = Assert.Single(summary.Slides);
        Assert.True(s.Status == SlideSummary.Completed, s.Error);
        Assert.Null(s.TissueUnreadableTiles);

        using var json = JsonDocument.Parse(File.ReadAllText(summary.RunJsonPath));
        var model = ModelDescription.Load(ModelDir);
        Assert.Equal(OldKey(model, options), json.RootElement.GetProperty("parameters").GetProperty("settingsKey").GetString());
        foreach (var slide in json.RootElement.GetProperty("slides").EnumerateArray())
        {
            Assert.False(slide.TryGetProperty("tissueUnreadableTiles", out _), slide.ToString());
        }
    }

    [Fact]
    public async Task ANonDefaultBadTileLimitChangesTheKey()
    {
        using var dir = new TempDir();
        var model = ModelDescription.Load(ModelDir);
        var plain = PipelineHarness.Options(dir["a"]);
        var strict = plain with { MaxBadTiles = 0 };
        var looser = plain with { MaxBadTileFraction = 0.05 };
        var keys = new[] { await Key(plain), await Key(strict), await Key(looser) };
        Assert.Equal(3, keys.Distinct().Count());
        Assert.Equal(OldKey(model, plain), keys[0]);

        async Task<string> Key(RunOptions o)
        {
            var m = ModelDescription.Load(ModelDir);
            await using var backend = Histoscale.Inference.OnnxRuntime.OnnxRuntimeBackend.Create(m, new Histoscale.Inference.OnnxRuntime.OnnxRuntimeOptions { Instances = 1, IntraOpThreads = 1, WarmupBatchSize = 0 });
            await using var batcher = new Histoscale.Inference.Scheduling.DynamicBatcher(backend, Histoscale.Inference.Scheduling.BatcherOptions.FromConfig(m.Config));
            return new InferenceRun(m, batcher, o).Settings;
        }
    }

    [Fact]
    public void KeysAreTheSameUnderACommaDecimalCulture()
    {
        StainParameters target;
        using (var slide = Slide.Open(TestData.Slide(seed: 5)))
        {
            target = SlideStain.Fit(slide, StainMethod.Macenko);
        }
        var stain = new StainNormalization { Target = target, Options = new StainOptions { OdThreshold = 0.25, AnglePercentile = 1.5 } };
        var quality = new QualityOptions { MaskMpp = 7.5, FoldDensityRatio = 1.75 };
        var (stainKey, qualityKey) = (stain.Key, quality.Key());
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // A German-like culture (comma decimals); built by hand since tests run with invariant globalization.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            comma.NumberFormat.NumberGroupSeparator = ".";
            CultureInfo.CurrentCulture = comma;
            Assert.Equal("0,25", 0.25.ToString(CultureInfo.CurrentCulture));
            Assert.Equal(stainKey, stain.Key);
            Assert.Equal(qualityKey, quality.Key());
            Assert.Contains("0.25", stain.Key);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }
}
