using System.Text.Json;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// Skip and resume go by the slide's content identity (size, modification time, SHA-256 of the first and last MiB),
/// not its name: another slide under the same name is run afresh and run.json says why.
/// </summary>
public class SlideIdentityTests
{
    private static readonly DateTime Stamp = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    private static string Classifier => TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));

    [Fact]
    public async Task ASlideReplacedByAnotherOfTheSameSizeAndModificationTimeIsRerun()
    {
        using var dir = new TempDir();
        var (a, b) = SameSize(TestData.Slide(seed: 3, width: 1000, height: 800), TestData.Slide(seed: 4, width: 1000, height: 800));
        var slide = dir["case.svs"];
        var outDir = dir["out"];
        Replace(slide, a);
        var first = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(outDir));
        Assert.Equal(SlideSummary.Completed, first.Slides[0].Status);
        var csv = File.ReadAllText(Path.Combine(outDir, "case.tiles.csv"));

        Replace(slide, b); // same name, same size, same modification time: only the bytes tell them apart
        var second = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(outDir));
        Assert.Equal(SlideSummary.Completed, second.Slides[0].Status);
        Assert.NotEqual(csv, File.ReadAllText(Path.Combine(outDir, "case.tiles.csv")));
        var reason = RunJsonSlide(outDir).GetProperty("rerunReason").GetString();
        Assert.StartsWith("content changed: ", reason);
        Assert.Contains("SHA-256", reason);

        // Unchanged since: skipped, and nothing to explain.
        var third = await PipelineHarness.RunAsync(Classifier, [slide], PipelineHarness.Options(outDir));
        Assert.Equal(SlideSummary.Skipped, third.Slides[0].Status);
        Assert.False(RunJsonSlide(outDir).TryGetProperty("rerunReason", out _));
    }

    [Fact]
    public async Task ACheckpointIsNotResumedForAnotherSlideUnderTheSameName()
    {
        using var dir = new TempDir();
        var (a, b) = SameSize(TestData.Slide(seed: 5, width: 1000, height: 800), TestData.Slide(seed: 6, width: 1000, height: 800));
        var slide = dir["case.svs"];
        var outDir = dir["out"];
        // Without tissue detection the plan depends only on the geometry, so both slides have the same plan.
        var options = PipelineHarness.Options(outDir, batch: 4) with { DetectTissue = false };
        Replace(slide, a);
        using var cts = new CancellationTokenSource();
        var interrupted = await PipelineHarness.RunAsync(Classifier, [slide], options, p =>
        {
            if (p.Phase == SlidePhase.Inferring && p.TilesThisRun >= 12)
            {
                cts.Cancel();
            }
        }, cts.Token);
        Assert.Equal(SlideSummary.Cancelled, interrupted.Slides[0].Status);

        Replace(slide, b);
        var resumed = await PipelineHarness.RunAsync(Classifier, [slide], options);
        var s = resumed.Slides[0];
        Assert.Equal(SlideSummary.Completed, s.Status);
        Assert.Equal(0, s.TilesResumed);
        Assert.Equal(s.Tiles, s.TilesRun);
        var reason = RunJsonSlide(outDir).GetProperty("rerunReason").GetString();
        Assert.Contains("checkpoint", reason);
        Assert.Contains("content changed: ", reason);

        // The outputs are b's alone: the same as a run of b from scratch.
        var fresh = dir["fresh"];
        await PipelineHarness.RunAsync(Classifier, [slide], options with { OutputDirectory = fresh });
        Assert.Equal(File.ReadAllText(Path.Combine(fresh, "case.tiles.csv")), File.ReadAllText(Path.Combine(outDir, "case.tiles.csv")));
    }

    /// <summary>Both files padded with zeros to the same length (bytes past the last IFD and tile are never read).</summary>
    private static (byte[] A, byte[] B) SameSize(string a, string b)
    {
        var (x, y) = (File.ReadAllBytes(a), File.ReadAllBytes(b));
        var length = Math.Max(x.Length, y.Length);
        Array.Resize(ref x, length);
        Array.Resize(ref y, length);
        return (x, y);
    }

    private static void Replace(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, Stamp);
    }

    private static JsonElement RunJsonSlide(string outDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json"))).RootElement.GetProperty("slides")[0];
}
