using System.Text;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>
/// Vendor formats we know but do not read: recognised by extension, and the TIFF-based ones also by their tags, so
/// that they fail with "unsupported format: Hamamatsu NDPI" instead of a TIFF structure error, or worse, being
/// misread as a generic TIFF. It reads nothing, so it declares no extensions and scans never list these files.
/// <list type="bullet">
/// <item>NDPI: stripped JPEG levels with Hamamatsu's private tags (65420 always present).</item>
/// <item>Leica SCN: a collection of images placed by an XML description; read as a generic TIFF its µm/px would
/// come from the macro image and the main images' levels could mix.</item>
/// <item>Ventana BIF: the label comes first, and level tiles overlap by amounts given in the iScan XMP.</item>
/// <item>The rest are not TIFF at all.</item>
/// </list>
/// </summary>
public sealed class UnsupportedVendorFormats : ISlideFormat
{
    /// <summary>TIFF tag present in every NDPI directory (OpenSlide's detection rule).</summary>
    internal const ushort NdpiFormatFlag = 65420;

    /// <summary>Adobe XMP packet; Ventana keeps its iScan metadata there.</summary>
    internal const ushort Xmp = 700;

    private static readonly (string Extension, string Vendor)[] ByExtension =
    [
        (".ndpi", "Hamamatsu NDPI"),
        (".vms", "Hamamatsu VMS"),
        (".vmu", "Hamamatsu VMU"),
        (".mrxs", "3DHISTECH MRXS"),
        (".isyntax", "Philips iSyntax"),
        (".scn", "Leica SCN"),
        (".bif", "Ventana BIF"),
        (".vsi", "Olympus VSI"),
        (".czi", "Zeiss CZI"),
        (".svslide", "Sakura SVSlide"),
    ];

    /// <summary>"unsupported": this entry only refuses files, it never opens one.</summary>
    public string Name => "unsupported";

    /// <summary>Empty: scans never list the vendor files it refuses.</summary>
    public IReadOnlyList<string> Extensions { get; } = [];

    /// <summary>Never returns a layout: throws for a known unsupported vendor file, returns null for anything else.</summary>
    public SlideLayout? TryOpen(SlideProbe probe)
    {
        foreach (var (extension, vendor) in ByExtension)
        {
            if (probe.HasExtension(extension))
            {
                throw Unsupported(probe, vendor);
            }
        }
        if (probe.Tiff is not { } tiff)
        {
            return null;
        }
        var first = tiff.Directories[0];
        if (first.Has(NdpiFormatFlag))
        {
            throw Unsupported(probe, "Hamamatsu NDPI");
        }
        if (first.GetString(TiffTag.ImageDescription) is { } description && description.Contains("leica-microsystems.com/scn", StringComparison.Ordinal))
        {
            throw Unsupported(probe, "Leica SCN");
        }
        foreach (var dir in tiff.Directories)
        {
            if (dir.GetBytes(Xmp) is { } xmp && Encoding.UTF8.GetString(xmp).Contains("<iScan", StringComparison.Ordinal))
            {
                throw Unsupported(probe, "Ventana BIF");
            }
        }
        return null;
    }

    private static SlideException Unsupported(SlideProbe probe, string vendor) => new(probe.Source.Name, $"unsupported format: {vendor}");
}
