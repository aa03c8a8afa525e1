using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>A folder given as a DICOM slide: what is skipped (DICOMDIR, non-WSI instances) and what is refused (several series).</summary>
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
    public void AFolderOfOnlyNonWsiDicomSaysSo()
    {
        using var dir = new TempDir();
        WriteCt(dir.File("ct.dcm"), "1.2.826.0.1.3680043.10.8");
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dir.Path));
        Assert.Contains("no DICOM whole-slide instances", ex.Message);
        Assert.Contains("1 other DICOM file(s) skipped", ex.Message);
    }
}
