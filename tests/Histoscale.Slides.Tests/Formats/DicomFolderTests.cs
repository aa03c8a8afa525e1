using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>
/// A folder given as a DICOM slide: what is skipped (DICOMDIR, non-WSI instances) and what is refused (several
/// series); a folder of several series listed and each series opened by its UID; a corrupt instance named.
/// </summary>
public sealed class DicomFolderTests
{
    private static void WriteCt(string path, string seriesUid) => DicomWsiWriter.Write(path, new DicomWsiInstance
    {
        SopClass = "1.2.840.10008.5.1.4.1.1.2",
        Modality = "CT",
        SeriesUid = seriesUid,
        SopInstanceUid = "1.2.826.0.1.3680043.10.8.1",
        Columns = 8,
        Rows = 8,
        SamplesPerPixel = 1,
        Photometric = "MONOCHROME2",
        TransferSyntax = DicomWsiInstance.ExplicitLittle,
        Frames = [new byte[64]],
    });

    [Fact]
    public void ADicomdirAndNonWsiInstancesInTheFolderAreSkipped()
    {
        using var dir = new TempDir();
        DicomTestSeries.WriteJpegSeries(DicomFormatTests.Source, dir.Path);
        // A media directory (named first, and not even parseable past its magic) and a CT slice of the same series.
        var dicomdir = new byte[300];
        "DICM"u8.CopyTo(dicomdir.AsSpan(128));
        dicomdir.AsSpan(132).Fill(0xEE);
        File.WriteAllBytes(dir.File("DICOMDIR"), dicomdir);
        WriteCt(dir.File("a-ct.dcm"), DicomTestSeries.SeriesUid);
        using var svs = Slide.Open(DicomFormatTests.Source);
        using var folder = Slide.Open(dir.Path);
        DicomFormatTests.AssertLevelsEqual(svs, folder);
        Assert.True(folder.AssociatedImages.ContainsKey("label"));
        // Opened through one instance, its siblings skip them too.
        using var instance = Slide.Open(dir.File("level1.dcm"));
        DicomFormatTests.AssertLevelsEqual(svs, instance);
    }

    [Fact]
    public void AFolderOfSeveralSeriesIsRefusedNamingEach()
    {
        using var dir = new TempDir();
        DicomTestSeries.WriteJpegSeries(DicomFormatTests.Source, dir.Path);
        var other = DicomTestSeries.JpegLevels(DicomFormatTests.Source)[^1];
        DicomWsiWriter.Write(dir.File("zz-other.dcm"), new DicomWsiInstance
        {
            SeriesUid = "1.2.826.0.1.3680043.10.9.9",
            SopInstanceUid = "1.2.826.0.1.3680043.10.9.9.1",
            Columns = other.Tile,
            Rows = other.Tile,
            TotalColumns = other.Width,
            TotalRows = other.Height,
            Frames = other.Frames,
        });
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dir.Path));
        Assert.Equal(dir.Path, ex.File);
        Assert.Contains("2 DICOM whole-slide series", ex.Message);
        Assert.Contains(DicomTestSeries.SeriesUid, ex.Message);
        Assert.Contains("1.2.826.0.1.3680043.10.9.9", ex.Message);
        Assert.Contains("zz-other.dcm", ex.Message);
        // Each series still opens through one of its files.
        using var first = Slide.Open(dir.File("level0.dcm"));
        using var second = Slide.Open(dir.File("zz-other.dcm"));
        Assert.Single(second.Levels);
    }

    [Fact]
    public void AnInstanceWithoutASeriesUidTakesNoSiblings()
    {
        // Two unrelated single-file exports, neither with a Series Instance UID, side by side: each opens alone.
        using var dir = new TempDir();
        var levels = DicomTestSeries.JpegLevels(DicomFormatTests.Source);
        foreach (var (name, level, uid) in new[] { ("a.dcm", levels[^1], "1.2.826.0.1.3680043.10.9.7.1"), ("b.dcm", levels[^2], "1.2.826.0.1.3680043.10.9.8.1") })
        {
            DicomWsiWriter.Write(dir.File(name), new DicomWsiInstance
            {
                SeriesUid = "",
                SopInstanceUid = uid,
                Columns = level.Tile,
                Rows = level.Tile,
                TotalColumns = level.Width,
                TotalRows = level.Height,
                Frames = level.Frames,
            });
        }
        using var a = Slide.Open(dir.File("a.dcm"));
        using var b = Slide.Open(dir.File("b.dcm"));
        Assert.Equal(levels[^1].Width, Assert.Single(a.Levels).Width);
        Assert.Equal(levels[^2].Width, Assert.Single(b.Levels).Width);
    }

    [Fact]
    public void AFolderOfOnlyNonWsiDicomSaysSo()
    {
        using var dir = new TempDir();
        WriteCt(dir.File("ct.dcm"), "1.2.826.0.1.3680043.10.8");
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dir.Path));
        Assert.Contains("no DICOM whole-slide instances", ex.Message);
        Assert.Contains("1 other DICOM file(s) skipped", ex.Message);
    }

    private const string OtherUid = "1.2.826.0.1.3680043.10.7.7";

    /// <summary>
    /// A folder as an archive finds it: series A (JPEG, <c>level0.dcm</c> ...), series B (uncompressed, of another
    /// slide, files without extension, a description), a DICOMDIR that does not parse, a CT slice claiming series B's
    /// UID, and a text file.
    /// </summary>
    private static void WriteMixedFolder(TempDir dir, Slide other)
    {
        DicomTestSeries.WriteJpegSeries(DicomFormatTests.Source, dir.Path);
        DicomWsiWriter.WriteUncompressedSeries(other, dir.Path, new UncompressedSeries { SeriesUid = OtherUid, Prefix = "b-", Extension = "", Description = "second scan" });
        var dicomdir = new byte[300];
        "DICM"u8.CopyTo(dicomdir.AsSpan(128));
        dicomdir.AsSpan(132).Fill(0xEE);
        File.WriteAllBytes(dir.File("DICOMDIR"), dicomdir);
        WriteCt(dir.File("ct"), OtherUid);
        File.WriteAllText(dir.File("notes.txt"), "not DICOM");
    }

    [Fact]
    public void EachSeriesOfAMixedFolderIsListedAndOpensByItsUid()
    {
        using var dir = new TempDir();
        using var other = Slide.Open(TestSlides.LzwTiff);
        WriteMixedFolder(dir, other);
        var listing = DicomFolder.List(dir.Path);
        Assert.Equal([DicomTestSeries.SeriesUid, OtherUid], listing.Series.Select(s => s.SeriesInstanceUid).Order(StringComparer.Ordinal));
        Assert.Equal(1, listing.Skipped); // the CT slice
        Assert.Empty(listing.Unreadable);
        var b = listing.Series.Single(s => s.SeriesInstanceUid == OtherUid);
        Assert.Equal("second scan", b.SeriesDescription);
        Assert.All(b.Files, f => Assert.StartsWith("b-", Path.GetFileName(f), StringComparison.Ordinal));
        Assert.Equal(other.Levels.Count + (other.AssociatedImages.ContainsKey("label") ? 1 : 0), b.Files.Count);
        Assert.Empty(b.Problems);

        using var svs = Slide.Open(DicomFormatTests.Source);
        using (var a = Slide.OpenDicomSeries(dir.Path, DicomTestSeries.SeriesUid))
        {
            DicomFormatTests.AssertLevelsEqual(svs, a);
            Assert.True(a.AssociatedImages.ContainsKey("label"));
            // The same slide, and the same identity, as opening it through one of its files.
            Assert.Equal(ByteSources.Identify(dir.File("level0.dcm"), []), a.SourceIdentity);
        }
        using (var opened = Slide.OpenDicomSeries(b))
        {
            DicomFormatTests.AssertLevelsEqual(other, opened);
            Assert.Equal(b.Identity, opened.SourceIdentity);
        }
        using (var viaFile = Slide.Open(dir.File("b-level1")))
        {
            DicomFormatTests.AssertLevelsEqual(other, viaFile);
        }
        var missing = Assert.Throws<SlideException>(() => Slide.OpenDicomSeries(dir.Path, "1.2.3.4"));
        Assert.Equal(dir.Path, missing.File);
        Assert.Contains(OtherUid, missing.Message);
    }

    [Fact]
    public void ACorruptInstanceIsNamedAndFailsOnlyItsSeries()
    {
        using var dir = new TempDir();
        using var other = Slide.Open(TestSlides.LzwTiff);
        WriteMixedFolder(dir, other);
        var corrupt = dir.File("level1.dcm");
        var bytes = File.ReadAllBytes(corrupt);
        File.WriteAllBytes(corrupt, bytes[..^1000]); // cut inside its pixel data: its header still names its series
        var byUid = Assert.Throws<SlideException>(() => Slide.OpenDicomSeries(dir.Path, DicomTestSeries.SeriesUid));
        Assert.Equal(corrupt, byUid.File);
        Assert.Contains(DicomTestSeries.SeriesUid, byUid.Message);
        var viaSibling = Assert.Throws<SlideException>(() => Slide.Open(dir.File("level0.dcm")));
        Assert.Equal(corrupt, viaSibling.File);
        var listing = DicomFolder.List(dir.Path);
        Assert.Equal(corrupt, Assert.Single(listing.Series.Single(s => s.SeriesInstanceUid == DicomTestSeries.SeriesUid).Problems).File);
        // The other series is unaffected, by its UID and through one of its files (its siblings' other series are
        // read only up to their series UID).
        using var b = Slide.OpenDicomSeries(dir.Path, OtherUid);
        using var viaFile = Slide.Open(dir.File("b-level0"));
        DicomFormatTests.AssertLevelsEqual(other, viaFile);
    }

    [Fact]
    public void AnInstanceFilesIdentityIsItsWholeSeriesAndOnlyThat()
    {
        using var dir = new TempDir();
        using var other = Slide.Open(TestSlides.LzwTiff);
        WriteMixedFolder(dir, other);
        var entry = dir.File("level0.dcm");
        var before = ByteSources.Identify(entry, []);
        using (var slide = Slide.Open(entry))
        {
            Assert.Equal(before, slide.SourceIdentity);
        }
        // The other series, the CT slice and the DICOMDIR changing leave it as it was.
        var later = DateTime.UtcNow.AddMinutes(5);
        foreach (var name in new[] { "b-level0", "ct", "DICOMDIR" })
        {
            File.SetLastWriteTimeUtc(dir.File(name), later);
        }
        Assert.Equal(before, ByteSources.Identify(entry, []));
        Assert.Equal(before, ByteSources.Identify(dir.File("level2.dcm"), []));
        // A sibling of its series rewritten changes it (infer reruns the slide).
        File.SetLastWriteTimeUtc(dir.File("level1.dcm"), later);
        Assert.NotEqual(before, ByteSources.Identify(entry, []));
    }
}
