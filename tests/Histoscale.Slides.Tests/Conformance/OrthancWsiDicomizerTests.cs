using System.Globalization;
using Histoscale.Slides.Tests.Formats;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Conformance;

/// <summary>
/// An independent producer: Debian's orthanc-wsi (OrthancWSIDicomizer) converts our synthesized SVS to DICOM WSI
/// (its own Part 10 writer, frame layout and attributes). Reading its output must give the source's levels,
/// micrometres per pixel and pixels. Skipped with a message where the tool is not installed (.ci/run installs it).
/// </summary>
public sealed class OrthancWsiDicomizerTests
{
    private static string? Dicomizer => Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator)
        .Select(d => Path.Combine(d, "OrthancWSIDicomizer")).FirstOrDefault(File.Exists);

    /// <summary>OpenSlide's library, which the dicomizer loads to read SVS.</summary>
    private static string? LibOpenSlide => new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib" }
        .Select(d => Path.Combine(d, "libopenslide.so.0")).FirstOrDefault(File.Exists);

    private static bool Close((double X, double Y) a, (double X, double Y) b) => Math.Abs(a.X - b.X) < 1e-5 && Math.Abs(a.Y - b.Y) < 1e-5;

    [SkippableFact]
    public void DicomizedSvsReadsLikeTheSvs() => Dicomize([]);

    /// <summary>Re-encoded as lossless JPEG 2000 (orthanc-wsi labels it YBR_FULL_422 over an RCT codestream): level 0 still equals the source.</summary>
    [SkippableFact]
    public void DicomizedAsLosslessJpeg2000Level0EqualsTheSvs() => Dicomize(["--reencode", "1", "--compression", "jpeg2000"], onlyLevel0: true);

    private static void Dicomize(string[] extra, bool onlyLevel0 = false)
    {
        Skip.If(Dicomizer is null, "orthanc-wsi comparison skipped: OrthancWSIDicomizer is not installed (apt-get install orthanc-wsi; .ci/run installs it)");
        Skip.If(LibOpenSlide is null, "orthanc-wsi comparison skipped: libopenslide.so.0 not found (the dicomizer reads SVS through it)");
        using var dir = new TempDir();
        using var svs = Slide.Open(DicomFormatTests.Source);
        var widthMm = svs.Width * svs.MppX!.Value / 1000;
        var heightMm = svs.Height * svs.MppY!.Value / 1000;
        var code = Tools.Run(Dicomizer!, [
            "--openslide", LibOpenSlide!, "--folder", dir.Path,
            "--imaged-width", widthMm.ToString("R", CultureInfo.InvariantCulture),
            "--imaged-height", heightMm.ToString("R", CultureInfo.InvariantCulture),
            "--max-size", "0", .. extra, DicomFormatTests.Source], out var output);
        Assert.True(code == 0, output);
        using var dicom = Slide.Open(dir.Path);
        Assert.Equal("dicom", dicom.Format);
        if (onlyLevel0)
        {
            Assert.Equal("1.2.840.10008.1.2.4.90", dicom.Properties["dicom.TransferSyntaxUID"]);
            Assert.Equal(svs.ReadRegion(0, 0, 0, (int)svs.Width, (int)svs.Height).Pixels, dicom.ReadRegion(0, 0, 0, (int)svs.Width, (int)svs.Height).Pixels);
            return;
        }
        DicomFormatTests.AssertLevelsEqual(svs, dicom);
        // Pixel Spacing is read as the standard says (row spacing, then column spacing). orthanc-wsi 1.1 writes
        // (ImagedVolumeWidth / Rows, ImagedVolumeHeight / Columns), swapping the axes; a fixed producer gives the
        // source's µm/px. Either way the reading must be the file's own spacing, not the source's by accident.
        var standard = (svs.MppX.Value, svs.MppY.Value);
        var orthanc11 = (heightMm / svs.Width * 1000, widthMm / svs.Height * 1000);
        var read = (dicom.MppX!.Value, dicom.MppY!.Value);
        Assert.True(Close(read, standard) || Close(read, orthanc11), $"mpp {read} is neither {standard} nor orthanc-wsi 1.1's {orthanc11}");
    }
}
