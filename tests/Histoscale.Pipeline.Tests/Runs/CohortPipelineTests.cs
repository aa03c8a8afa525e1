using System.Collections.Concurrent;
using Histoscale.Inference;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// Slides of a run are pipelined (the next one prepared and the previous one written while one is inferred): the
/// outputs must be the bytes each slide gets when run alone, at most one slide may be prepared ahead, a failing
/// slide leaves its neighbours alone, and an interrupted cohort resumes to the same outputs.
/// </summary>
public class CohortPipelineTests
{
    private static string Classifier => TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));

    /// <summary>Three slides of different sizes, layouts and tile sizes.</summary>
    private static string[] Cohort() =>
    [
        TestData.Slide(seed: 21, width: 1500, height: 1100),
        TestData.Slide(seed: 22, width: 900, height: 1300, layout: SynthLayout.Tiff, mpp: 0.499),
        TestData.Slide(seed: 23, width: 1200, height: 700),
    ];

    [Fact]
    public async Task CohortOutputsAreByteIdenticalToOneSlideAtATime()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var cohort = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["cohort"], batch: 4));
        Assert.All(cohort.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        Assert.Equal(slides.Select(Path.GetFileNameWithoutExtension), cohort.Slides.Select(s => s.Name));
        for (var i = 0; i < slides.Length; i++)
        {
            var alone = dir[$"alone-{i}"];
            var single = await PipelineHarness.RunAsync(Classifier, [slides[i]], PipelineHarness.Options(alone, batch: 4));
            Assert.Equal(single.Slides[0].Tiles, cohort.Slides[i].Tiles);
            AssertSameOutputs(alone, dir["cohort"], slides[i]);
        }
    }

    [Fact]
    public async Task TheNextSlideIsPreparedWhileOneIsInferredAndNeverMoreThanOneAhead()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var events = new ConcurrentQueue<(int Slide, SlidePhase Phase)>();
        using var nextOpened = new ManualResetEventSlim();
        var waited = new ConcurrentDictionary<int, bool>();
        var summary = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path, batch: 4), p =>
        {
            events.Enqueue((p.SlideIndex, p.Phase));
            if (p is { SlideIndex: 1, Phase: SlidePhase.Opening })
            {
                nextOpened.Set();
            }
            // Slide 0 holds its first batch until slide 1 is being opened: one after the other, that never happens.
            if (p is { SlideIndex: 0, Phase: SlidePhase.Inferring } && waited.TryAdd(0, true))
            {
                waited[0] = nextOpened.Wait(TimeSpan.FromSeconds(60));
            }
        });
        Assert.All(summary.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        Assert.True(waited[0], "slide 1 was not opened while slide 0 was being inferred");

        // Slides are opened in order, slide k as slide k-1 goes into the model (so after slide k-2 did; the events of
        // those two threads may come in either order): one slide prepared ahead at most. The model holds at most two
        // slides (one finishing its last batches, the next starting).
        var log = events.ToArray();
        int First(int slide, SlidePhase phase) => Array.FindIndex(log, e => e == (slide, phase));
        int Last(int slide, SlidePhase phase) => Array.FindLastIndex(log, e => e == (slide, phase));
        for (var k = 1; k < slides.Length; k++)
        {
            Assert.True(First(k, SlidePhase.Opening) > First(k - 1, SlidePhase.Opening), $"slide {k} opened before slide {k - 1}");
            Assert.True(k < 2 || First(k, SlidePhase.Opening) > First(k - 2, SlidePhase.Inferring), $"slide {k} opened before slide {k - 2} was in the model");
            Assert.True(k < 2 || First(k, SlidePhase.Inferring) > Last(k - 2, SlidePhase.Inferring), $"slide {k} inferred while slide {k - 2} was");
        }
        Assert.Equal([0, 1, 2], log.Where(e => e.Phase == SlidePhase.Done).Select(e => e.Slide));
    }

    [Fact]
    public async Task TheFirstSlideIsPreparedAndReadWhileTheModelLoads()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var events = new ConcurrentQueue<(int Slide, SlidePhase Phase, bool Loaded)>();
        // The model "loads" until slide 0 has been opened, planned and has started reading its tiles: a run that
        // waited for the model first would never get there (the gate gives up after a minute, failing the test).
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Delay(TimeSpan.FromSeconds(60)).ContinueWith(_ => loaded.TrySetException(new TimeoutException("the model was never needed")), TaskScheduler.Default);
        var summary = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["cohort"], batch: 4), p =>
        {
            events.Enqueue((p.SlideIndex, p.Phase, loaded.Task.IsCompleted));
            if (p is { SlideIndex: 0, Phase: SlidePhase.Inferring })
            {
                loaded.TrySetResult();
            }
        }, modelReady: loaded.Task);
        Assert.All(summary.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        var log = events.ToArray();
        Assert.Contains((0, SlidePhase.Opening, false), log);
        Assert.Contains((0, SlidePhase.Inferring, false), log);
        // Nothing else starts before the model has loaded: the next slide is prepared, and slides recorded, after it.
        Assert.All(log.Where(e => e.Slide > 0 || e.Phase is SlidePhase.Done or SlidePhase.Writing), e => Assert.True(e.Loaded, $"{e} before the model loaded"));

        var plain = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["plain"], batch: 4));
        Assert.Equal(plain.Slides.Select(s => s.Tiles), summary.Slides.Select(s => s.Tiles));
        foreach (var slide in slides)
        {
            AssertSameOutputs(dir["plain"], dir["cohort"], slide);
        }
    }

    [Fact]
    public async Task AModelThatCannotLoadFailsTheRunAndRecordsNothing()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var events = new ConcurrentQueue<(int Slide, SlidePhase Phase)>();
        var loading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var error = await Assert.ThrowsAsync<ModelConfigException>(() => PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path, batch: 4), p =>
        {
            events.Enqueue((p.SlideIndex, p.Phase));
            if (p is { SlideIndex: 0, Phase: SlidePhase.Inferring })
            {
                loading.TrySetException(new ModelConfigException("ONNX Runtime cannot create a session: no such op", model: "classifier64"));
            }
        }, modelReady: loading.Task));
        Assert.Contains("cannot create a session", error.Message);
        // Neither a summary nor run.json nor any output; the next slide was never opened.
        Assert.DoesNotContain(events, e => e.Slide > 0 || e.Phase is SlidePhase.Done or SlidePhase.Failed or SlidePhase.Writing);
        Assert.False(File.Exists(Path.Combine(dir.Path, "run.json")));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.csv"));
    }

    [Fact]
    public async Task AFailingSlideInTheMiddleLeavesItsNeighboursAlone()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        // One slide fails while it is inferred (a corrupt tile, none allowed), one while it is opened (not a slide).
        var corrupt = dir["corrupt.svs"];
        File.WriteAllBytes(corrupt, TileDamage.InsertBeforeEoi(File.ReadAllBytes(TestData.Slide(seed: 24)), (2 * 7) + 3, 200, seed: 3));
        var garbage = dir["garbage.svs"];
        File.WriteAllText(garbage, "not a slide");
        string[] run = [slides[0], corrupt, slides[1], garbage, slides[2]];
        var options = PipelineHarness.Options(dir["out"], batch: 4) with { DetectTissue = false, MaxBadTiles = 0 };
        var summary = await PipelineHarness.RunAsync(Classifier, run, options);
        Assert.Equal([SlideSummary.Completed, SlideSummary.Failed, SlideSummary.Completed, SlideSummary.Failed, SlideSummary.Completed], summary.Slides.Select(s => s.Status));
        Assert.Equal(run.Select(Path.GetFileNameWithoutExtension), summary.Slides.Select(s => s.Name));
        Assert.Contains("corrupt.svs", summary.Slides[1].Error);
        Assert.Contains("could not be read, more than --max-bad-tiles allows (0)", summary.Slides[1].Error);
        Assert.Contains("garbage.svs", summary.Slides[3].Error);
        Assert.False(File.Exists(Path.Combine(dir["out"], "corrupt.tiles.csv")));
        for (var i = 0; i < slides.Length; i++)
        {
            var alone = dir[$"alone-{i}"];
            await PipelineHarness.RunAsync(Classifier, [slides[i]], options with { OutputDirectory = alone });
            AssertSameOutputs(alone, dir["out"], slides[i]);
        }
    }

    [Fact]
    public async Task AnInterruptedCohortResumesToTheSameOutputs()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var whole = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["whole"], batch: 4));
        Assert.All(whole.Slides, s => Assert.Equal(SlideSummary.Completed, s.Status));

        // Stop in the middle of the second slide: by then the third is prepared (or being prepared) and the first is
        // being written, or written.
        using var cts = new CancellationTokenSource();
        var interrupted = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["resumed"], batch: 4), p =>
        {
            if (p is { SlideIndex: 1, Phase: SlidePhase.Inferring, TilesThisRun: >= 8 })
            {
                cts.Cancel();
            }
        }, cts.Token);
        Assert.True(interrupted.Cancelled);
        // The third slide is not reported unless it had started reading tiles (the second one's reading was over).
        Assert.Equal([SlideSummary.Completed, SlideSummary.Cancelled], interrupted.Slides.Take(2).Select(s => s.Status));
        Assert.True(interrupted.Slides.Count == 2 || interrupted.Slides[2].Status == SlideSummary.Cancelled);
        AssertSameOutputs(dir["whole"], dir["resumed"], slides[0]); // the first slide's outputs were finished
        Assert.Empty(Directory.EnumerateFiles(dir["resumed"], Path.GetFileNameWithoutExtension(slides[2]) + ".*"));

        var second = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir["resumed"], batch: 4));
        Assert.Equal([SlideSummary.Skipped, SlideSummary.Completed, SlideSummary.Completed], second.Slides.Select(s => s.Status));
        Assert.True(second.Slides[1].TilesResumed >= 8, $"resumed {second.Slides[1].TilesResumed}");
        foreach (var slide in slides)
        {
            AssertSameOutputs(dir["whole"], dir["resumed"], slide);
        }
    }

    [Fact]
    public async Task ASlowWriteHoldsBackTheSlideTwoAfterIt()
    {
        using var dir = new TempDir();
        var slides = Cohort();
        var events = new ConcurrentQueue<(int Slide, SlidePhase Phase)>();
        using var thirdInferring = new ManualResetEventSlim();
        var summary = await PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path, batch: 4), p =>
        {
            events.Enqueue((p.SlideIndex, p.Phase));
            if (p is { SlideIndex: 2, Phase: SlidePhase.Inferring })
            {
                thirdInferring.Set();
            }
            // Slow output storage: slide 0's write does not start until slide 2 is in the model (which it must not be
            // before slide 0 is written) or a while has passed.
            if (p is { SlideIndex: 0, Phase: SlidePhase.Writing })
            {
                thirdInferring.Wait(TimeSpan.FromSeconds(5));
            }
        });
        Assert.All(summary.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        var log = events.ToArray();
        Assert.True(Array.IndexOf(log, (2, SlidePhase.Inferring)) > Array.IndexOf(log, (0, SlidePhase.Done)), "slide 2 went into the model before slide 0 was written");
    }

    [Fact]
    public async Task AProgressCallbackThatThrowsStopsTheRunWithNothingLeftRunning()
    {
        using var dir = new TempDir();
        string[] slides = [.. Cohort(), TestData.Slide(seed: 25, width: 800, height: 600)];
        var events = new ConcurrentQueue<(int Slide, SlidePhase Phase)>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PipelineHarness.RunAsync(Classifier, slides, PipelineHarness.Options(dir.Path, batch: 4), p =>
        {
            events.Enqueue((p.SlideIndex, p.Phase));
            if (p is { SlideIndex: 1, Phase: SlidePhase.Done })
            {
                throw new InvalidOperationException("progress display broke");
            }
        }));
        Assert.Equal("progress display broke", error.Message);
        // The slide two after the failing one may not go into the model: it waits for that slide to be recorded.
        Assert.DoesNotContain((3, SlidePhase.Inferring), events);
        Assert.DoesNotContain((3, SlidePhase.Done), events);
        // Everything started had ended when the run threw: nothing reports afterwards.
        var count = events.Count;
        await Task.Delay(300);
        Assert.Equal(count, events.Count);
    }

    private static void AssertSameOutputs(string expectedDir, string actualDir, string slide)
    {
        var name = Path.GetFileNameWithoutExtension(slide);
        var files = Directory.EnumerateFiles(expectedDir, name + ".*").ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var other = Path.Combine(actualDir, Path.GetFileName(file));
            Assert.True(File.Exists(other), $"{Path.GetFileName(file)} missing");
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(other)), $"{Path.GetFileName(file)} differs");
        }
    }
}
