using System.Globalization;
using System.Xml.Linq;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>
/// OME-TIFF: OME-XML in the first ImageDescription, the first image's pyramid as SubIFDs. Physical pixel size
/// comes from the XML (PhysicalSizeX/Y, micrometres unless a unit says otherwise).
/// </summary>
internal sealed class OmeTiffFormat : ISlideFormat
{
    public string Name => "ome-tiff";

    public IReadOnlyList<string> Extensions { get; } = [".ome.tif", ".ome.tiff", ".ome.btf"];

    public SlideLayout? TryOpen(SlideProbe probe)
    {
        if (probe.Tiff is not { } tiff)
        {
            return null;
        }
        var first = tiff.Directories[0];
        var description = first.GetString(TiffTag.ImageDescription);
        if (description is null || !description.Contains("<OME", StringComparison.Ordinal) || !first.IsTiled)
        {
            return null;
        }
        var properties = new Dictionary<string, string>();
        TiffProperties.Add(first, properties);
        double? mppX = null, mppY = null;
        try
        {
            var pixels = XDocument.Parse(description).Descendants().FirstOrDefault(e => e.Name.LocalName == "Pixels");
            mppX = Micrometres(pixels, "PhysicalSizeX");
            mppY = Micrometres(pixels, "PhysicalSizeY");
        }
        catch (System.Xml.XmlException ex)
        {
            throw new SlideException(tiff.Name, $"OME-XML in ImageDescription is malformed: {ex.Message}");
        }
        // The main chain of an OME-TIFF holds planes/series, not levels: the pyramid is the first page's SubIFDs.
        var levels = new List<ITiledImage> { TiffImage.Open(first, 0, null, probe.JpegSimd) };
        foreach (var offset in first.GetLongs(TiffTag.SubIfds, 64))
        {
            var sub = tiff.ReadDirectory(offset, tiff.Directories.Count + levels.Count);
            if (sub.IsTiled && sub.Width < levels[^1].Width)
            {
                levels.Add(TiffImage.Open(sub, levels.Count, null, probe.JpegSimd));
            }
        }
        return new SlideLayout { Vendor = Name, Levels = levels, Properties = properties, MppX = mppX, MppY = mppY };
    }

    private static double? Micrometres(XElement? pixels, string attribute)
    {
        var value = pixels?.Attribute(attribute)?.Value;
        if (value is null || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v <= 0)
        {
            return null;
        }
        var unit = pixels!.Attribute(attribute + "Unit")?.Value ?? "µm";
        return unit switch
        {
            "nm" => v / 1000,
            "mm" => v * 1000,
            "cm" => v * 10000,
            _ => v,
        };
    }
}
