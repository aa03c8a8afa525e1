using System.Text.Json;
using Histoscale.Archive.Catalog;
using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Archive.Tests;

/// <summary>
/// Heatmaps become overlays of exactly one slide, matched on collection and relative path (the results' place, or
/// what infer recorded beside them), never by file name alone across collections.
/// </summary>
public sealed class OverlayMatchingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hs-overlays-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    [Fact]
    public void Overlays_of_a_slide_name_in_two_collections_go_to_the_slide_they_were_computed_from()
    {
        var alpha = Directory.CreateDirectory(Path.Combine(_root, "alpha")).FullName;
        var beta = Directory.CreateDirectory(Path.Combine(_root, "beta")).FullName;
        var results = Directory.CreateDirectory(Path.Combine(_root, "results")).FullName;
        Synth(Path.Combine(alpha, "case1.tif"), 512, 384, seed: 11);
        Synth(Path.Combine(beta, "case1.tif"), 512, 384, seed: 12);

        // Flat, with no infer records: it could be either slide's.
        Synth(Path.Combine(results, "case1.heatmap.tif"), 128, 96, seed: 20);
        // An infer run on alpha's slide: its state file names the slide and what its bytes were.
        Synth(Path.Combine(results, "run1", "case1.heatmap.tif"), 128, 96, seed: 21);
        WriteState(Path.Combine(results, "run1"), "case1", Path.Combine(alpha, "case1.tif"), Identity(Path.Combine(alpha, "case1.tif")));
        // Laid out per collection: RESULTS/beta/case1.heatmap.tif is beta's case1.
        Synth(Path.Combine(results, "beta", "case1.heatmap.tif"), 128, 96, seed: 22);
        // A run on alpha's slide as it was before it changed: stale, not shown.
        Synth(Path.Combine(results, "run2", "case1.heatmap.tif"), 128, 96, seed: 23);
        var stale = Identity(Path.Combine(alpha, "case1.tif")) with { Length = new FileInfo(Path.Combine(alpha, "case1.tif")).Length + 1 };
        WriteState(Path.Combine(results, "run2"), "case1", Path.Combine(alpha, "case1.tif"), stale);

        // Only a run.json (no state file), with the path infer was given relative to where it ran.
        Synth(Path.Combine(results, "run3", "case1.heatmap.tif"), 128, 96, seed: 25);
        File.WriteAllText(Path.Combine(results, "run3", "run.json"), """{"slides":[{"name":"case1","path":"./beta/case1.tif","status":"completed"}]}""");

        using var catalog = new SlideCatalog(new ArchiveOptions { Collections = [new("alpha", alpha), new("beta", beta)], ResultsDirectory = results, Database = "unused" });
        var (count, problems) = catalog.Scan();

        Assert.Equal(2, count);
        var slides = catalog.All.ToDictionary(s => s.Collection);
        Assert.Equal(["run1/case1.heatmap.tif"], slides["alpha"].Overlays.Select(o => o.Name));
        Assert.Equal(["beta/case1.heatmap.tif", "run3/case1.heatmap.tif"], slides["beta"].Overlays.Select(o => o.Name));
        Assert.Contains(problems, p => p.Path == "case1.heatmap.tif" && p.Error.Contains("ambiguous", StringComparison.Ordinal)
            && p.Error.Contains("alpha/case1.tif", StringComparison.Ordinal) && p.Error.Contains("beta/case1.tif", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "run2/case1.heatmap.tif" && p.Error.Contains("content changed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_heatmap_laid_out_under_a_collection_without_that_slide_is_refused_with_a_reason()
    {
        var alpha = Directory.CreateDirectory(Path.Combine(_root, "alpha")).FullName;
        var beta = Directory.CreateDirectory(Path.Combine(_root, "beta")).FullName;
        var results = Directory.CreateDirectory(Path.Combine(_root, "results")).FullName;
        Synth(Path.Combine(alpha, "case2.tif"), 512, 384, seed: 13);
        Synth(Path.Combine(results, "beta", "case2.heatmap.tif"), 128, 96, seed: 24);

        using var catalog = new SlideCatalog(new ArchiveOptions { Collections = [new("alpha", alpha), new("beta", beta)], ResultsDirectory = results, Database = "unused" });
        var (_, problems) = catalog.Scan();

        Assert.Empty(Assert.Single(catalog.All).Overlays);
        Assert.Contains(problems, p => p.Path == "beta/case2.heatmap.tif" && p.Error.Contains("no slide beta/case2.*", StringComparison.Ordinal));
    }

    [Fact]
    public void An_ome_tiff_slides_heatmap_is_matched_by_infers_output_name()
    {
        // infer names x.ome.tif's outputs "x" (x.heatmap.tif); the catalog once looked for a slide "x.ome".
        var alpha = Directory.CreateDirectory(Path.Combine(_root, "alpha")).FullName;
        var results = Directory.CreateDirectory(Path.Combine(_root, "results")).FullName;
        Synth(Path.Combine(alpha, "case4.ome.tif"), 512, 384, seed: 14, SynthLayout.SubIfd);
        Synth(Path.Combine(results, "alpha", "case4.heatmap.tif"), 128, 96, seed: 26);

        using var catalog = new SlideCatalog(new ArchiveOptions { Collections = [new("alpha", alpha)], ResultsDirectory = results, Database = "unused" });
        var (_, problems) = catalog.Scan();

        Assert.Equal(["alpha/case4.heatmap.tif"], Assert.Single(catalog.All).Overlays.Select(o => o.Name));
        Assert.DoesNotContain(problems, p => p.Path.Contains("case4", StringComparison.Ordinal));
    }

    private static void Synth(string path, int width, int height, int seed, SynthLayout layout = SynthLayout.Tiff)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SlideSynthesizer.Write(path, new SynthOptions { Width = width, Height = height, TileSize = 128, Layout = layout, Seed = seed, MaxDegreeOfParallelism = 2 });
    }

    private static Slides.Sources.SourceIdentity Identity(string path)
    {
        using var slide = Slide.Open(path);
        return slide.SourceIdentity!;
    }

    /// <summary>The state file infer keeps beside its outputs (OUT/.histoscale/NAME.state.json), as it writes it.</summary>
    private static void WriteState(string outDir, string name, string slide, Slides.Sources.SourceIdentity identity)
    {
        var folder = Directory.CreateDirectory(Path.Combine(outDir, ".histoscale")).FullName;
        var state = new { version = 2, slide, identity, settings = "k", status = "complete", tilesTotal = 1 };
        File.WriteAllText(Path.Combine(folder, name + ".state.json"), JsonSerializer.Serialize(state, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }
}
