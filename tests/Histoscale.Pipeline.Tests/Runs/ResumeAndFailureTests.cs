using Histoscale.Synthesis.Models;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;

namespace Histoscale.Pipeline.Tests.Runs;

public class ResumeAndFailureTests
{
    private static string Classifier => TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));

    [Fact]
    public async Task ResumeAfterCancellationMidSlideGivesIdenticalOutputs()
    {
        using var dir = new TempDir();
        var slide = TestData.Slide();
        var whole = dir["whole"];
        var resumed = dir["resumed"];
        var full = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(whole, batch: 4));
        Assert.Equal(SlideSummary.Completed, full.Slides[0].Status);

        // Stop after a few batches have been checkpointed.
        using var cts = new CancellationTokenSource();
        var interrupted = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(resumed, batch: 4), p =>
        {
            if (p.Phase == SlidePhase.Inferring && p.TilesThisRun >= 12)
            {
                cts.Cancel();
            }
        }, cts.Token);
        Assert.True(interrupted.Cancelled);
        Assert.Equal(SlideSummary.Cancelled, interrupted.Slides[0].Status);
        var checkpoint = Path.Combine(resumed, InferenceRun.CheckpointFolder, "slide-1-1500x1100-Svs.results.bin");
        Assert.True(File.Exists(checkpoint));
        Assert.False(File.Exists(Path.Combine(resumed, "slide-1-1500x1100-Svs.tiles.csv"))); // nothing half-written under a final name
        Assert.Empty(Directory.EnumerateFiles(resumed, "*.partial", SearchOption.AllDirectories));

        var second = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(resumed, batch: 4));
        var s = second.Slides[0];
        Assert.Equal(SlideSummary.Completed, s.Status);
        Assert.True(s.TilesResumed >= 12, $"resumed {s.TilesResumed}");
        Assert.Equal(s.Tiles, s.TilesResumed + s.TilesRun);
        foreach (var file in Directory.EnumerateFiles(whole).Where(f => !f.EndsWith("run.json", StringComparison.Ordinal)))
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(resumed, Path.GetFileName(file)))), Path.GetFileName(file));
        }
        Assert.False(File.Exists(checkpoint)); // folded into the outputs
    }

    [Fact]
    public async Task UnreadableSlideFailsWithItsMessageWhileOthersComplete()
    {
        using var dir = new TempDir();
        var bad = dir["broken.svs"];
        File.WriteAllText(bad, "not a slide");
        var missing = dir["missing.svs"];
        var summary = await PipelineHarness.RunAsync(Classifier, [bad, TestData.Slide(), missing], PipelineHarness.Options(dir["out"]));
        Assert.True(summary.AnyFailed);
        Assert.Equal([SlideSummary.Failed, SlideSummary.Completed, SlideSummary.Failed], summary.Slides.Select(s => s.Status));
        Assert.Contains("broken.svs", summary.Slides[0].Error);
        Assert.Contains("missing.svs", summary.Slides[2].Error);
        Assert.True(File.Exists(Path.Combine(dir["out"], "slide-1-1500x1100-Svs.tiles.csv")));
    }

    [Fact]
    public async Task UnwritableOutputFolderIsAConfigError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["file"], "");
        var ex = await Assert.ThrowsAsync<PipelineConfigException>(() =>
            PipelineHarness.RunAsync(Classifier, [TestData.Slide()], PipelineHarness.Options(Path.Combine(dir["file"], "out"))));
        Assert.Contains("not writable", ex.Message);
    }

    [Fact]
    public async Task BadSettingsAreRejectedBeforeAnySlideIsRead()
    {
        using var dir = new TempDir();
        var ex = await Assert.ThrowsAsync<PipelineConfigException>(() =>
            PipelineHarness.RunAsync(Classifier, [dir["never-opened.svs"]], PipelineHarness.Options(dir.Path) with { Overlap = 64 }));
        Assert.Contains("overlap", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, InferenceRun.CheckpointFolder)));
    }

    [Fact]
    public async Task ModelConfigMismatchFailsBeforeAnySlideIsRead()
    {
        using var dir = new TempDir();
        var model = DemoModels.HematoxylinOd(tileSize: 64, name: "mismatch");
        model.Config.Inputs[0].Dims = [3, 32, 32]; // the graph takes 64×64
        var path = Histoscale.Synthesis.Models.ModelRepositoryWriter.Write(dir["models"], model);
        var ex = await Assert.ThrowsAsync<Histoscale.Inference.ModelConfigException>(() =>
            PipelineHarness.RunAsync(path, [dir["never-opened.svs"]], PipelineHarness.Options(dir["out"])));
        Assert.Contains("dims", ex.Message);
        Assert.False(Directory.Exists(dir["out"]));
    }

    [Fact]
    public async Task AStricterMaxBadTilesRerunsCompletedSlidesInsteadOfSkippingThem()
    {
        using var dir = new TempDir();
        var slides = new[] { TestData.Slide(seed: 3) };
        var first = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path) with { MaxBadTiles = 5 });
        Assert.All(first.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));
        var same = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path) with { MaxBadTiles = 5 });
        Assert.All(same.Slides, s => Assert.Equal(SlideSummary.Skipped, s.Status));

        var stricter = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path) with { MaxBadTiles = 0 });
        Assert.All(stricter.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));
        Assert.All(stricter.Slides, s => Assert.StartsWith("model or settings changed (settings key ", s.RerunReason));
        var fraction = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path) with { MaxBadTiles = null, MaxBadTileFraction = 0.001 });
        Assert.All(fraction.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));
    }

    [Fact]
    public async Task SeveralSlidesRunAndFinishedOnesAreSkippedOnRerun()
    {
        using var dir = new TempDir();
        var slides = new[] { TestData.Slide(seed: 1), TestData.Slide(seed: 2, width: 1000, height: 800) };
        var first = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path));
        Assert.All(first.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));
        var csv = Path.Combine(dir.Path, "slide-2-1000x800-Svs.tiles.csv");
        var written = File.GetLastWriteTimeUtc(csv);

        var second = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path));
        Assert.All(second.Slides, s => Assert.Equal(SlideSummary.Skipped, s.Status));
        Assert.Equal(first.Slides.Select(s => s.Tiles), second.Slides.Select(s => s.Tiles));
        Assert.Equal(written, File.GetLastWriteTimeUtc(csv));

        // Other settings: the slides run again.
        var third = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path) with { MinTissue = 0.5 });
        Assert.All(third.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));
        Assert.All(third.Slides, s => Assert.StartsWith("model or settings changed (settings key ", s.RerunReason));
    }
}
