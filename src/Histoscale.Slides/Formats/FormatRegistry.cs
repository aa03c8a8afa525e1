namespace Histoscale.Slides.Formats;

/// <summary>
/// The formats tried in order: DICOM (known by its \"DICM\" magic, not by a name), vendor formats we know but cannot read first (so they are refused by name), then
/// specific vendors, generic TIFF last. The same list says which file names scans pick up.
/// </summary>
public static class FormatRegistry
{
    /// <summary>DICOM whole-slide series, then vendor formats refused by name, then Aperio SVS, OME-TIFF and generic tiled TIFF; the default for <see cref="SlideOptions.Formats"/>.</summary>
    public static IReadOnlyList<ISlideFormat> Default { get; } = [new Dicom.DicomFormat(), new UnsupportedVendorFormats(), new AperioFormat(), new OmeTiffFormat(), new GenericTiffFormat()];

    /// <summary>Every file-name ending the formats read, lower case and sorted: what folder, glob and bucket scans list.</summary>
    public static IReadOnlyList<string> Extensions(IEnumerable<ISlideFormat> formats) =>
        [.. formats.SelectMany(f => f.Extensions).Select(e => e.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>True when a file name, path or URI ends in an extension one of <paramref name="formats"/> reads.</summary>
    public static bool IsSlideName(string nameOrUri, IEnumerable<ISlideFormat> formats)
    {
        var name = SlideProbe.FileNameOf(nameOrUri);
        return formats.Any(f => f.Extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>
    /// True when <paramref name="folder"/> is a local folder holding DICOM Part 10 files ("DICM" after the preamble):
    /// such a folder is one DICOM whole-slide series, opened as one slide, where a scan of it would list nothing.
    /// </summary>
    public static bool IsDicomFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return false;
        }
        try
        {
            Dicom.DicomFormat.FirstInstanceIn(folder);
            return true;
        }
        catch (SlideException)
        {
            return false;
        }
    }
}
