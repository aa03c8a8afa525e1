using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// A folder holding several DICOM whole-slide series (a hospital export: a DICOMDIR, notes, two scans) expands to one
/// slide per series, each named by its base-level instance file: the run writes each series' outputs, equal to a run
/// over that series alone, skips both when nothing changed and reruns only the series whose file changed.
/// </summary>
public class DicomSeriesFolderTests
{
    private const string SeriesA = "1.2.826.0.1.3680043.10.77.1";
    private const string SeriesB = "1.2.826.0.1.3680043.10.77.2";

    private static string Classifier => TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));

    [Fact]
    public async Task AFolderOfTwoSeriesRunsEachAsItsOwnSlideAndRerunsOnlyTheChangedOne()
    {
        using var dir = new TempDir();
        var export = Directory.CreateDirectory(dir["export"]).FullName;
        var aloneA = Directory.CreateDirectory(dir["alone-a"]).FullName;
        var aloneB = Directory.CreateDirectory(dir["alone-b"]).FullName;
        using (var a = Slide.Open(TestData.Slide(seed: 31, width: 900, height: 700)))
        using (var b = Slide.Open(TestData.Slide(seed: 32, width: 700, height: 600)))
        {
            var seriesA = new UncompressedSeries { SeriesUid = SeriesA, Prefix = "a-", Extension = "", Description = "H&E" };
            var seriesB = new UncompressedSeries { SeriesUid = SeriesB, Prefix = "b-", Description = "IHC" };
            DicomWsiWriter.WriteUncompressedSeries(a, export, seriesA);
            DicomWsiWriter.WriteUncompressedSeries(b, export, seriesB);
            DicomWsiWriter.WriteUncompressedSeries(a, aloneA, seriesA);
            DicomWsiWriter.WriteUncompressedSeries(b, aloneB, seriesB);
        }
        var dicomdir = new byte[300]; // a media directory that does not even parse past its magic
        "DICM"u8.CopyTo(dicomdir.AsSpan(128));
        dicomdir.AsSpan(132).Fill(0xEE);
        File.WriteAllBytes(Path.Combine(export, "DICOMDIR"), dicomdir);
        File.WriteAllText(Path.Combine(export, "README.txt"), "two scans of case 1");

        var slides = SlideInputs.Expand([export]);
        Assert.Equal([Path.Combine(export, "a-level0"), Path.Combine(export, "b-level0.dcm")], slides);
        Assert.Equal(["a-level0", "b-level0"], slides.Select(SlideInputs.NameOf));
        // Each input opens its own series only, known by that series' files (what DicomFolder.List says of it).
        var listing = DicomFolder.List(export);
        for (var i = 0; i < 2; i++)
        {
            using var opened = Slide.Open(slides[i]);
            Assert.Null(SourceIdentity.Difference(listing.Series[i].Identity, opened.SourceIdentity));
        }

        var options = PipelineHarness.Options(dir["out"], batch: 4);
        var first = await PipelineHarness.RunAsync(Classifier, slides, options);
        Assert.All(first.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        var alone = await PipelineHarness.RunAsync(Classifier, [aloneA, aloneB], PipelineHarness.Options(dir["out-alone"], batch: 4));
        Assert.All(alone.Slides, s => Assert.True(s.Status == SlideSummary.Completed, s.Error));
        foreach (var (name, single) in new[] { ("a-level0", "alone-a"), ("b-level0", "alone-b") })
        {
            var tiles = File.ReadAllText(Path.Combine(dir["out"], name + ".tiles.csv"));
            Assert.Contains("\n", tiles.TrimEnd());
            Assert.Equal(File.ReadAllText(Path.Combine(dir["out-alone"], single + ".tiles.csv")), tiles);
        }
        Assert.NotEqual(File.ReadAllText(Path.Combine(dir["out"], "a-level0.tiles.csv")), File.ReadAllText(Path.Combine(dir["out"], "b-level0.tiles.csv")));

        var second = await PipelineHarness.RunAsync(Classifier, SlideInputs.Expand([export]), options);
        Assert.All(second.Slides, s => Assert.Equal(SlideSummary.Skipped, s.Status));

        // Series B's last level (not the file it is named by) rewritten with a later time: only B runs again.
        var changed = Path.Combine(export, "b-level1.dcm");
        File.SetLastWriteTimeUtc(changed, File.GetLastWriteTimeUtc(changed).AddMinutes(5));
        var third = await PipelineHarness.RunAsync(Classifier, SlideInputs.Expand([export]), options);
        Assert.Equal(SlideSummary.Skipped, third.Slides[0].Status);
        Assert.True(third.Slides[1].Status == SlideSummary.Completed, third.Slides[1].Error);
        Assert.NotNull(third.Slides[1].RerunReason);
    }

    /// <summary>
    /// Base files whose names differ only by an extension (".dcm" or none) would write outputs of one name: each series
    /// is then named by its first instance whose name is the folder's only one.
    /// </summary>
    [Fact]
    public void SeriesWhoseBaseFilesShareANameAreNamedByAnotherOfTheirFiles()
    {
        using var dir = new TempDir();
        using (var a = Slide.Open(TestData.Slide(seed: 31, width: 900, height: 700)))
        {
            DicomWsiWriter.WriteUncompressedSeries(a, dir.Path, new UncompressedSeries { SeriesUid = SeriesA, Prefix = "x-", Extension = "" });
            DicomWsiWriter.WriteUncompressedSeries(a, dir.Path, new UncompressedSeries { SeriesUid = SeriesB, Prefix = "x-" });
        }
        File.Move(dir["x-level1.dcm"], dir["y-level1.dcm"]);
        var slides = SlideInputs.Expand([dir.Path]);
        Assert.Equal([dir["x-level1"], dir["y-level1.dcm"]], slides);
        var listing = DicomFolder.List(dir.Path);
        for (var i = 0; i < 2; i++)
        {
            using var opened = Slide.Open(slides[i]);
            Assert.Null(SourceIdentity.Difference(listing.Series[i].Identity, opened.SourceIdentity));
        }
    }

    [Fact]
    public void SeriesWhoseFilesAreNamedByUidWithoutExtensionKeepTheWholeUidAsTheirName()
    {
        // The usual export layout: every instance file named by its SOP Instance UID, no extension. Taking the last
        // UID component for an extension named both series "1.2.826.0.1.3680043.10.77" and refused the folder.
        using var dir = new TempDir();
        using (var a = Slide.Open(TestData.Slide(seed: 31, width: 900, height: 700)))
        {
            DicomWsiWriter.WriteUncompressedSeries(a, dir.Path, new UncompressedSeries { SeriesUid = SeriesA, Prefix = "a-", Extension = "" });
            DicomWsiWriter.WriteUncompressedSeries(a, dir.Path, new UncompressedSeries { SeriesUid = SeriesB, Prefix = "b-", Extension = "" });
        }
        var uidRoot = "1.2.826.0.1.3680043.10.77.";
        var number = 100;
        foreach (var file in Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal))
        {
            File.Move(file, Path.Combine(dir.Path, uidRoot + number++));
        }
        var slides = SlideInputs.Expand([dir.Path]);
        Assert.Equal(2, slides.Count);
        var names = slides.Select(SlideInputs.NameOf).ToList();
        Assert.Equal(slides.Select(Path.GetFileName), names);
        Assert.All(names, n => Assert.StartsWith(uidRoot, n, StringComparison.Ordinal));
        Assert.NotEqual(names[0], names[1]);
        // A folder named by a series UID keeps its whole name too; real extensions still go.
        Assert.Equal("1.2.826.0.1.3680043.10.77.1", SlideInputs.NameOf(Path.Combine("study", "1.2.826.0.1.3680043.10.77.1")));
        Assert.Equal("case-1", SlideInputs.NameOf("slides/case-1.svs"));
        Assert.Equal("case.v2", SlideInputs.NameOf("slides/case.v2.tiff"));
        Assert.Equal("scan", SlideInputs.NameOf("s3://bucket/a/scan.ome.tiff"));
    }
}
