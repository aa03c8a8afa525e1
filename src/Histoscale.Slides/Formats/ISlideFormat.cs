using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>
/// One vendor format, like one of OpenSlide's vendor files: recognise a file and describe its levels,
/// associated images and properties. Adding a format never touches another.
/// </summary>
public interface ISlideFormat
{
    /// <summary>Vendor name reported as <c>openslide.vendor</c> (e.g. "aperio", "generic-tiff").</summary>
    string Name { get; }

    /// <summary>
    /// File-name endings this format reads (lower case, with the dot: ".svs", ".ome.tif"). Folder, glob and bucket
    /// scans list exactly the files whose names end in one that a registered format declares (<see cref="FormatRegistry"/>).
    /// </summary>
    IReadOnlyList<string> Extensions { get; }

    /// <summary>Returns null when the file is not of this format; throws <see cref="SlideException"/> when it is but is broken.</summary>
    SlideLayout? TryOpen(SlideProbe probe);
}

/// <summary>
/// What formats may look at to recognise a file: its bytes and name, and (for the built-in TIFF family, whose
/// structure parser is internal) the parsed TIFF. A format of another family reads <see cref="Source"/> itself.
/// </summary>
public sealed class SlideProbe
{
    private readonly Lazy<TiffFile?> _tiff;

    /// <summary>A probe whose TIFF structure is parsed when a format first asks for it (a parse error is rethrown to each asker).</summary>
    internal SlideProbe(IByteSource source, Func<TiffFile?> parseTiff, Codecs.Jpeg.JpegSimd jpegSimd)
    {
        Source = source;
        _tiff = new Lazy<TiffFile?>(parseTiff, LazyThreadSafetyMode.ExecutionAndPublication);
        FileName = FileNameOf(source.Name);
        JpegSimd = jpegSimd;
    }

    /// <summary>A probe over <paramref name="source"/> alone (a format outside the TIFF family reads it itself).</summary>
    public SlideProbe(IByteSource source, Codecs.Jpeg.JpegSimd jpegSimd = Codecs.Jpeg.JpegSimd.Auto)
        : this(source, () => null, jpegSimd)
    {
    }

    /// <summary>The JPEG decoder kernels the slide's images decode with (<see cref="SlideOptions.JpegSimd"/>).</summary>
    public Codecs.Jpeg.JpegSimd JpegSimd { get; }

    /// <summary>The slide's bytes; the probe does not own them.</summary>
    public IByteSource Source { get; }

    /// <summary>The parsed TIFF structure, or null when the file is not a TIFF.</summary>
    internal TiffFile? Tiff => _tiff.Value;

    /// <summary>The file's name: the last segment of its path, or of a URI's path (no query), unescaped.</summary>
    public string FileName { get; }

    /// <summary>True when <see cref="FileName"/> ends in <paramref name="extension"/> (case-insensitive).</summary>
    public bool HasExtension(string extension) => FileName.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    internal static string FileNameOf(string pathOrUri)
    {
        if (pathOrUri.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(pathOrUri, UriKind.Absolute, out var uri))
        {
            return Uri.UnescapeDataString(uri.Segments[^1]);
        }
        return Path.GetFileName(pathOrUri);
    }
}

/// <summary>A format's description of an opened slide.</summary>
public sealed class SlideLayout
{
    /// <summary>Format name, reported as <see cref="Slide.Format"/> and the <c>openslide.vendor</c> property ("aperio", "generic-tiff", "ome-tiff").</summary>
    public required string Vendor { get; init; }

    /// <summary>Pyramid levels, largest first.</summary>
    public required IReadOnlyList<ITiledImage> Levels { get; init; }

    /// <summary>Label, macro, thumbnail and other non-pyramid images, by name (OpenSlide's names where they exist).</summary>
    public IReadOnlyDictionary<string, ITiledImage> AssociatedImages { get; init; } = new Dictionary<string, ITiledImage>();

    /// <summary>Vendor and TIFF properties (OpenSlide-compatible keys); level and common keys are added by <see cref="Slide"/>.</summary>
    public Dictionary<string, string> Properties { get; init; } = [];

    /// <summary>Micrometres per level-0 pixel horizontally, when the file records it.</summary>
    public double? MppX { get; init; }

    /// <summary>Micrometres per level-0 pixel vertically, when the file records it.</summary>
    public double? MppY { get; init; }

    /// <summary>Scanning objective magnification (e.g. 20 or 40), when the file records it.</summary>
    public double? ObjectivePower { get; init; }

    /// <summary>Further resources the slide owns besides its byte source (a DICOM series' other instance files); disposed with it.</summary>
    internal IReadOnlyList<IDisposable> Owned { get; init; } = [];

    /// <summary>What the slide's bytes are when its byte source alone cannot say (a DICOM series: all its instance files); null to use the source's.</summary>
    internal Sources.SourceIdentity? Identity { get; init; }
}
