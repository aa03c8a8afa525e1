using System.Text.Json;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides.Tests.Support;
using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// A slide with one tile whose data cannot be decoded: the slide completes, that tile's row says
/// <c>status=unreadable</c> (the rest <c>ok</c>), run.json counts it with its cause, the vectors get a NaN row, and
/// a slide with more such tiles than <c>--max-bad-tiles</c> fails saying so.
/// </summary>
public class UnreadableTileTests
{
    /// <summary>Tiles of 240 px at level 0: one plan tile per slide tile, so one damaged slide tile is one row.</summary>
    private static string Model => TestData.Model(DemoModels.SmallCnn(tileSize: 240, name: "small_cnn_240"));

    /// <summary>Slide tile (3,2) of the 7×5 level-0 grid.</summary>
    private const int Damaged = (2 * 7) + 3;

    private static RunOptions Options(string outDir, int? maxBadTiles) => PipelineHarness.Options(outDir, batch: 4) with
    {
        DetectTissue = false, // every slide tile is a plan tile, in raster order
        MaxBadTiles = maxBadTiles,
    };

    private static string DamagedSlide(TempDir dir, string kind)
    {
        var path = dir[$"bad-{kind}.{(kind == "jpeg" ? "svs" : "tif")}"];
        if (kind == "jpeg")
        {
            File.WriteAllBytes(path, TileDamage.InsertBeforeEoi(File.ReadAllBytes(TestData.Slide()), Damaged, 200, seed: 3));
            return path;
        }
        SlideSynthesizer.Write(path, new SynthOptions
        {
            Width = 1500,
            Height = 1100,
            TileSize = 240,
            Seed = 1,
            Layout = SynthLayout.Tiff,
            MicronsPerPixel = 0.499, // as the Aperio slide: level 0 is the model's scale
            Compression = kind == "lzw" ? TiffWriteCompression.Lzw : TiffWriteCompression.Deflate,
            MaxDegreeOfParallelism = 2,
        });
        var bytes = File.ReadAllBytes(path);
        TileDamage.TruncateTile(bytes, Damaged);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("lzw")]
    [InlineData("deflate")]
    public async Task OneUnreadableTileIsReportedAndTheSlideCompletes(string kind)
    {
        using var dir = new TempDir();
        var slide = DamagedSlide(dir, kind);
        var summary = await PipelineHarness.RunAsync(Model, [slide], Options(dir["out"], maxBadTiles: 1));
        var s = Assert.Single(summary.Slides);
        Assert.True(s.Status == SlideSummary.Completed, s.Error);
        Assert.Equal(35, s.Tiles);
        Assert.Equal(1, s.UnreadableTiles);
        var cause = Assert.Single(s.UnreadableCauses!);
        Assert.Contains("level 0 tile (3,2)", cause);
        if (kind == "jpeg")
        {
            Assert.Contains("corrupt JPEG data: 200 extraneous bytes before marker 0xd9", cause);
        }

        var name = Path.Combine(dir["out"], Path.GetFileNameWithoutExtension(slide));
        var rows = File.ReadAllLines(name + ".tiles.csv");
        Assert.EndsWith(",status", rows[0]);
        Assert.Equal(36, rows.Length);
        for (var i = 1; i < rows.Length; i++)
        {
            var f = rows[i].Split(',');
            Assert.Equal(i - 1 == Damaged ? "unreadable" : "ok", f[^1]);
            Assert.True(i - 1 != Damaged || (f[0], f[1]) == ("720", "480"), rows[i]);
            Assert.All(f[5..^1], v => Assert.Equal(i - 1 == Damaged, v.Length == 0));
        }

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["out"], "run.json")));
        var reported = run.RootElement.GetProperty("slides")[0];
        Assert.Equal(1, reported.GetProperty("unreadableTiles").GetInt32());
        Assert.Contains("tile (3,2)", reported.GetProperty("unreadableCauses")[0].GetString());
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("deflate")]
    public async Task ACorruptTileAtTheTissueDetectionLevelIsUnknownCountedAsTissueNotAFailure(string kind)
    {
        // The 1500×1100 slide's detection image is level 0 itself (its tiles are read straight into the thumbnail).
        using var dir = new TempDir();
        var slide = DamagedSlide(dir, kind);
        var summary = await PipelineHarness.RunAsync(Model, [slide], Options(dir["out"], maxBadTiles: 1) with { DetectTissue = true, MinTissue = 0.05 });
        var s = Assert.Single(summary.Slides);
        Assert.True(s.Status == SlideSummary.Completed, s.Error);
        Assert.Equal(1, s.TissueUnreadableTiles);
        Assert.Contains("level 0 tile (3,2)", Assert.Single(s.TissueUnreadableCauses!));
        // Its area is unknown, so tissue: the tile is planned and read at the inference level (here the same damaged
        // tile, so its row says unreadable) instead of vanishing from the outputs as glass.
        var rows = File.ReadAllLines(Path.Combine(dir["out"], Path.GetFileNameWithoutExtension(slide) + ".tiles.csv"));
        var row = Assert.Single(rows, r => r.StartsWith("720,480,", StringComparison.Ordinal));
        Assert.EndsWith(",unreadable", row);
        Assert.Equal(1, s.UnreadableTiles);
        using (var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["out"], "run.json"))))
        {
            var reported = run.RootElement.GetProperty("slides")[0];
            Assert.Equal(1, reported.GetProperty("tissueUnreadableTiles").GetInt32());
            Assert.Contains("tile (3,2)", reported.GetProperty("tissueUnreadableCauses")[0].GetString());
        }

        // Beyond --max-bad-tiles (here none allowed) the slide fails, naming the detection tile.
        var strict = await PipelineHarness.RunAsync(Model, [slide], Options(dir["strict"], maxBadTiles: 0) with { DetectTissue = true });
        var f = Assert.Single(strict.Slides);
        Assert.Equal(SlideSummary.Failed, f.Status);
        Assert.Contains("tissue detection: 1 of 35 detection-level tiles could not be read, more than --max-bad-tiles allows (0)", f.Error);
        Assert.Contains("level 0 tile (3,2)", f.Error);

        // The calibration sampler plans with the same detection and the same limit.
        var model = Histoscale.Inference.Models.ModelDescription.Load(Model);
        var sampler = new Histoscale.Pipeline.Sampling.TileSampler(model, Options(dir["s"], maxBadTiles: 1) with { DetectTissue = true, MinTissue = 0.05 });
        Assert.NotEmpty(sampler.Pick([slide], 8));
        var strictSampler = new Histoscale.Pipeline.Sampling.TileSampler(model, Options(dir["s0"], maxBadTiles: 0) with { DetectTissue = true });
        Assert.Contains("tissue detection: 1 of 35", Assert.Throws<Histoscale.Slides.SlideException>(() => strictSampler.Pick([slide], 8)).Message);
    }

    /// <summary>
    /// quantize's calibration sampler skips a sampled tile whose data is corrupt (named by slide, level and tile)
    /// instead of failing the whole calibration; the tiles it keeps are read and packed as before.
    /// </summary>
    [Fact]
    public void TheSamplerSkipsACorruptTileAndNamesIt()
    {
        using var dir = new TempDir();
        var slide = DamagedSlide(dir, "jpeg");
        var model = Histoscale.Inference.Models.ModelDescription.Load(Model);
        var sampler = new Histoscale.Pipeline.Sampling.TileSampler(model, Options(dir["s"], maxBadTiles: 1));
        var picks = sampler.Pick([slide], 35);
        Assert.Equal(35, picks.Count);
        // As before, reading the damaged tile into a batch fails (Batches is strict) ...
        Assert.Throws<Histoscale.Slides.SlideException>(() => sampler.Batches(picks, 8).ToList().ForEach(b => b.Dispose()));
        // ... and Readable leaves it out, in order, naming it.
        var readable = sampler.Readable(picks);
        Assert.Equal(34, readable.Count);
        Assert.DoesNotContain(readable, p => p.PlanIndex == Damaged);
        var skipped = Assert.Single(sampler.Skipped);
        Assert.Equal(Damaged, skipped.Tile.PlanIndex);
        Assert.Contains("bad-jpeg.svs", skipped.Error);
        Assert.Contains("level 0 tile (3,2)", skipped.Error);
        var batches = sampler.Batches(readable, 8).ToList();
        Assert.Equal(34, batches.Sum(b => b.BatchSize));
        batches.ForEach(b => b.Dispose());

        // In one pass (what calibration uses, each tile decoded once): the damaged tile is left out as it is met,
        // named once however often it is met, and the last batch is cut to the tiles packed.
        var once = new Histoscale.Pipeline.Sampling.TileSampler(model, Options(dir["s"], maxBadTiles: 1));
        var picked = once.Pick([slide], 35);
        for (var pass = 0; pass < 2; pass++)
        {
            var packed = once.Batches(picked, 5, skipCorrupt: true).ToList();
            Assert.Equal(34, packed.Sum(b => b.BatchSize));
            Assert.Equal([5, 5, 5, 5, 5, 5, 4], packed.Select(b => b.BatchSize));
            packed.ForEach(b => b.Dispose());
        }
        Assert.Equal(Damaged, Assert.Single(once.Skipped).Tile.PlanIndex);
        Assert.True(once.WasSkipped(picked[Damaged]));
    }

    [Fact]
    public async Task MoreUnreadableTilesThanAllowedFailTheSlide()
    {
        using var dir = new TempDir();
        var slide = DamagedSlide(dir, "jpeg");
        // 1 % of 35 tiles allows none.
        foreach (var (limit, label) in new[] { ((int?)0, "0"), (null, "default") })
        {
            var summary = await PipelineHarness.RunAsync(Model, [slide], Options(dir["out-" + label], maxBadTiles: limit));
            var s = Assert.Single(summary.Slides);
            Assert.Equal(SlideSummary.Failed, s.Status);
            Assert.Contains("1 of 35 tiles could not be read, more than --max-bad-tiles allows (0)", s.Error);
            Assert.Contains("level 0 tile (3,2)", s.Error);
        }
        Assert.Equal(3, new RunOptions { OutputDirectory = "x" }.BadTilesAllowed(350));
        Assert.Equal(7, new RunOptions { OutputDirectory = "x", MaxBadTiles = 7 }.BadTilesAllowed(350));
    }

    [Fact]
    public async Task ResumedRunKeepsTheUnreadableStatusAndWritesIdenticalOutputs()
    {
        using var dir = new TempDir();
        var slide = DamagedSlide(dir, "jpeg");
        var whole = dir["whole"];
        var resumed = dir["resumed"];
        Assert.Equal(SlideSummary.Completed, (await PipelineHarness.RunAsync(Model, [slide], Options(whole, 1))).Slides[0].Status);
        using var cts = new CancellationTokenSource();
        // Stop once the damaged tile (plan index 17) is checkpointed, so the resumed run only knows it from the checkpoint.
        var interrupted = await PipelineHarness.RunAsync(Model, [slide], Options(resumed, 1), p =>
        {
            if (p.Phase == SlidePhase.Inferring && p.TilesThisRun >= 20)
            {
                cts.Cancel();
            }
        }, cts.Token);
        Assert.Equal(SlideSummary.Cancelled, interrupted.Slides[0].Status);
        var second = (await PipelineHarness.RunAsync(Model, [slide], Options(resumed, 1))).Slides[0];
        Assert.Equal(SlideSummary.Completed, second.Status);
        Assert.True(second.TilesResumed > Damaged, $"resumed {second.TilesResumed}");
        Assert.Equal(1, second.UnreadableTiles);
        foreach (var file in Directory.EnumerateFiles(whole).Where(f => !f.EndsWith("run.json", StringComparison.Ordinal)))
        {
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(resumed, Path.GetFileName(file)))), Path.GetFileName(file));
        }
    }
}
