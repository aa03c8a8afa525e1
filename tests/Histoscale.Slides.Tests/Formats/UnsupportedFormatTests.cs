using System.Text;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>
/// Vendor files we cannot read are refused by name ("unsupported format: Hamamatsu NDPI"), by their extension or,
/// for TIFF-based ones, by their tags, instead of failing somewhere in the TIFF structure or being misread as a
/// generic TIFF.
/// </summary>
public sealed class UnsupportedFormatTests
{
    private static readonly SlideOptions NoCache = new() { Cache = null };

    /// <summary>NDPI in miniature: a stripped (not tiled) TIFF carrying Hamamatsu's tag 65420.</summary>
    public static byte[] FakeNdpi() => new MiniTiff().Page(64, 48, 0, null, (65420, 1), (271, "Hamamatsu")).ToBytes();

    private static SlideException Refused(byte[] bytes, string name) =>
        Assert.Throws<SlideException>(() => Slide.Open(new MemorySource(bytes, name), NoCache));

    [Fact]
    public void NdpiIsRefusedByItsExtension()
    {
        var ex = Refused(FakeNdpi(), "scan.ndpi");
        Assert.Equal("unsupported format: Hamamatsu NDPI", ex.Cause);
        Assert.Equal("scan.ndpi", ex.File);
    }

    [Fact]
    public void NdpiIsRefusedByItsTagWhateverItsName()
    {
        Assert.Equal("unsupported format: Hamamatsu NDPI", Refused(FakeNdpi(), "scan.tif").Cause);
    }

    [Theory]
    [InlineData("a.mrxs", "3DHISTECH MRXS")]
    [InlineData("a.isyntax", "Philips iSyntax")]
    [InlineData("a.vsi", "Olympus VSI")]
    [InlineData("a.CZI", "Zeiss CZI")]
    [InlineData("https://host/slides/a.ndpi?sig=abc", "Hamamatsu NDPI")]
    public void VendorFilesThatAreNotTiffAreNamedNotCalledUnrecognised(string name, string vendor)
    {
        Assert.Equal($"unsupported format: {vendor}", Refused(Encoding.ASCII.GetBytes("[GENERAL]\nSLIDE_VERSION = 1.9\n"), name).Cause);
    }

    [Theory]
    [InlineData("slide.scn")]
    [InlineData("slide.tif")]
    public void LeicaScnIsRefusedRatherThanReadAsAGenericTiff(string name)
    {
        // SCN's layout: a collection XML in the first ImageDescription, the tiled macro image first, then each main
        // image's pyramid. Read as a generic TIFF it would take µm/px from the macro and mix the images' levels.
        const string xml = "<?xml version=\"1.0\"?><scn xmlns=\"http://www.leica-microsystems.com/scn/2010/10/01\"><collection/></scn>";
        var bytes = new MiniTiff()
            .Page(64, 192, 16, xml, (282, 625.0), (283, 625.0), (296, 3))
            .Page(256, 256, 64, null, (282, 20000.0), (283, 20000.0), (296, 3))
            .Page(64, 64, 16)
            .ToBytes();
        Assert.Equal("unsupported format: Leica SCN", Refused(bytes, name).Cause);
    }

    [Theory]
    [InlineData("slide.bif")]
    [InlineData("slide.tif")]
    public void VentanaBifIsRefusedRatherThanFailingOnItsStrippedLabel(string name)
    {
        // BIF: the label first (stripped), iScan XMP, then levels whose tiles overlap by amounts given in the XMP.
        var iscan = Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><Metadata><iScan Magnification=\"40\" ScanRes=\"0.25\"/></Metadata>");
        var bytes = new MiniTiff()
            .Page(48, 32, 0, "Label_Image", (700, iscan))
            .Page(128, 128, 32, "level=0 mag=40 quality=90", (700, Encoding.UTF8.GetBytes("<EncodeInfo Ver=\"2\"/>")))
            .ToBytes();
        Assert.Equal("unsupported format: Ventana BIF", Refused(bytes, name).Cause);
    }

    [Fact]
    public void APlainTiledTiffStillOpensAsGenericTiff()
    {
        var bytes = new MiniTiff().Page(128, 96, 32).Page(64, 48, 16).ToBytes();
        using var slide = Slide.Open(new MemorySource(bytes, "plain.tif"), NoCache);
        Assert.Equal("generic-tiff", slide.Format);
        Assert.Equal(2, slide.Levels.Count);
    }
}
