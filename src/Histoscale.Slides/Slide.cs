using System.Globalization;
using Histoscale.Slides.Caching;
using Histoscale.Slides.Formats;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides;

/// <summary>
/// An open whole-slide image: metadata, levels, regions, tiles, associated images. Thread-safe: any number of
/// threads may read one instance concurrently; decoding takes no global lock.
/// </summary>
public sealed partial class Slide : IDisposable
{
    private static long s_nextId;

    private readonly IByteSource _source;
    private readonly SlideLayout _layout;
    private readonly TileCache? _cache;
    private readonly long _id = Interlocked.Increment(ref s_nextId);

    private Slide(IByteSource source, SlideLayout layout, TileCache? cache)
    {
        _source = source;
        _layout = layout;
        _cache = cache;
        var images = layout.Levels;
        var w0 = images[0].Width;
        var h0 = images[0].Height;
        Levels = [.. images.Select((im, i) => new Level(i, im.Width, im.Height,
            i == 0 ? 1.0 : (((double)w0 / im.Width) + ((double)h0 / im.Height)) / 2, // OpenSlide's definition
            im.TileWidth, im.TileHeight))];
        AssociatedImages = layout.AssociatedImages.ToDictionary(kv => kv.Key, kv => new AssociatedImageInfo(kv.Key, kv.Value.Width, kv.Value.Height));
        Properties = BuildProperties();
    }

    /// <summary>Path or URI the slide was opened from.</summary>
    public string Source => _source.Name;

    /// <summary>What the slide's bytes are (size, ETag/version, modification time, hash of the ends; for a local DICOM series, opened from its folder, one of its files or by its UID, all its instance files); null when its source cannot say.</summary>
    public SourceIdentity? SourceIdentity => _layout.Identity ?? _source.Identity;

    /// <summary>Format (vendor) name: "aperio", "generic-tiff", "ome-tiff", "dicom".</summary>
    public string Format => _layout.Vendor;

    /// <summary>Width of level 0 in pixels.</summary>
    public long Width => Levels[0].Width;

    /// <summary>Height of level 0 in pixels.</summary>
    public long Height => Levels[0].Height;

    /// <summary>Pyramid levels, level 0 (full resolution) first, downsample increasing.</summary>
    public IReadOnlyList<Level> Levels { get; }

    /// <summary>Micrometres per level-0 pixel horizontally (OpenSlide's <c>openslide.mpp-x</c>); null when the file does not record it.</summary>
    public double? MppX => _layout.MppX;

    /// <summary>Micrometres per level-0 pixel vertically (OpenSlide's <c>openslide.mpp-y</c>); null when the file does not record it.</summary>
    public double? MppY => _layout.MppY;

    /// <summary>Scanning objective magnification (<c>openslide.objective-power</c>); null when unknown.</summary>
    public double? ObjectivePower => _layout.ObjectivePower;

    /// <summary>All properties, with OpenSlide's keys where the meaning is the same.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>Associated images (label, macro, thumbnail...) by name, with their sizes.</summary>
    public IReadOnlyDictionary<string, AssociatedImageInfo> AssociatedImages { get; }

    /// <summary>
    /// Opens a local path or a URI (file://, http(s)://, or any scheme a provider in <see cref="SlideOptions.Sources"/>
    /// opens); a local folder is read as one DICOM whole-slide series, and so is a DICOMweb series URL
    /// (<c>http(s)://HOST/PATH/studies/{StudyUID}/series/{SeriesUID}</c>) through the first
    /// <see cref="IDicomWebProvider"/> among the sources.
    /// </summary>
    public static Slide Open(string pathOrUri, SlideOptions? options = null)
    {
        options ??= new SlideOptions();
        if (options.Formats.OfType<Formats.Dicom.DicomFormat>().Any() && Formats.Dicom.DicomFormat.IsDicomWebSeriesUrl(pathOrUri, out var seriesUrl))
        {
            return OpenDicomWeb(pathOrUri, seriesUrl, options);
        }
        if (!pathOrUri.Contains("://", StringComparison.Ordinal) && Directory.Exists(pathOrUri) && options.Formats.OfType<Formats.Dicom.DicomFormat>().Any())
        {
            // A folder is one DICOM whole-slide series (each file parsed once); its identity is the whole series', as
            // ByteSources.Identify gives for the folder.
            var (primary, layout) = Formats.Dicom.DicomFormat.OpenFolder(pathOrUri, options.JpegSimd);
            return new Slide(primary, layout, options.Cache);
        }
        var source = ByteSources.Open(pathOrUri, options.Sources);
        try
        {
            return Open(source, options);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the DICOM whole-slide series <paramref name="seriesInstanceUid"/> of a local folder that may hold several
    /// series, a DICOMDIR and other DICOM files beside it (<see cref="DicomFolder.List"/>); other series' files are
    /// read only up to their Series Instance UID.
    /// </summary>
    /// <exception cref="SlideException">No such series in the folder (the message lists those it holds), or an instance of it cannot be read (the message names the file).</exception>
    public static Slide OpenDicomSeries(string folder, string seriesInstanceUid, SlideOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(seriesInstanceUid);
        var listing = Formats.Dicom.DicomFormat.ListFolder(folder, null, seriesInstanceUid, null);
        if (listing.Series.FirstOrDefault() is not { } series)
        {
            var held = Formats.Dicom.DicomFormat.ListFolder(folder, null, null, null).Series.Select(s => s.SeriesInstanceUid).ToList();
            throw new SlideException(folder, $"folder holds no DICOM whole-slide series {seriesInstanceUid}; it holds {(held.Count == 0 ? "none" : string.Join(", ", held))}");
        }
        return OpenDicomSeries(series, options);
    }

    /// <summary>Opens a series <see cref="DicomFolder.List"/> found, reusing its parse of each instance file (one changed since is parsed again).</summary>
    /// <exception cref="SlideException">An instance of it cannot be read (the message names the file; see <see cref="DicomSeriesInfo.Problems"/>).</exception>
    public static Slide OpenDicomSeries(DicomSeriesInfo series, SlideOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        options ??= new SlideOptions();
        var (primary, layout) = Formats.Dicom.DicomFormat.OpenSeries(series, options.JpegSimd);
        return new Slide(primary, layout, options.Cache);
    }

    private static Slide OpenDicomWeb(string name, Uri url, SlideOptions options)
    {
        var provider = options.Sources.OfType<IDicomWebProvider>().FirstOrDefault()
            ?? throw new SlideException(name, "a DICOMweb series URL needs a DICOMweb source among SlideOptions.Sources (Histoscale.Storage's ObjectStoreProvider)");
        var series = provider.OpenDicomWebSeries(url);
        try
        {
            var metadata = series.ReadMetadataAsync().GetAwaiter().GetResult();
            var layout = Formats.Dicom.DicomFormat.OpenDicomWeb(series, metadata, options.JpegSimd);
            return new Slide(new DicomWebSlideSource(name, Formats.Dicom.DicomFormat.DicomWebIdentity(metadata)), layout, options.Cache);
        }
        catch
        {
            series.Dispose(); // disposing twice (the layout's frames own it too) is harmless
            throw;
        }
    }

    /// <summary>A DICOMweb series' stand-in source: its name and identity; its bytes are frames, read by the format.</summary>
    private sealed class DicomWebSlideSource(string name, SourceIdentity identity) : IByteSource
    {
        public string Name => name;

        public long Length => 0;

        public SourceIdentity? Identity => identity;

        public int Read(long offset, Span<byte> buffer) => 0;

        public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public void Dispose()
        {
        }
    }

    /// <summary>Opens a slide over a byte source; the slide owns and disposes it.</summary>
    public static Slide Open(IByteSource source, SlideOptions? options = null)
    {
        options ??= new SlideOptions();
        // Parsed on first use, so a format that knows a file by its name (an unsupported vendor's) can say so before
        // a TIFF parser fails on it.
        var probe = new SlideProbe(source, () =>
        {
            try
            {
                return TiffFile.TryOpen(source);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new SlideException(source.Name, $"cannot read: {ex.Message}", inner: ex);
            }
        }, options.JpegSimd);
        foreach (var format in options.Formats)
        {
            if (format.TryOpen(probe) is { } layout)
            {
                if (layout.Levels.Count == 0)
                {
                    foreach (var owned in layout.Owned)
                    {
                        owned.Dispose();
                    }
                    throw new SlideException(source.Name, $"{format.Name} file has no levels");
                }
                return new Slide(source, layout, options.Cache);
            }
        }
        throw new SlideException(source.Name, probe.Tiff is null ? "not a TIFF file (unrecognised format)" : "TIFF is not a recognised whole-slide layout");
    }

    /// <summary>The level whose downsample is the largest not exceeding <paramref name="downsample"/> (OpenSlide's rule).</summary>
    public int GetBestLevelForDownsample(double downsample)
    {
        for (var i = Levels.Count - 1; i >= 0; i--)
        {
            if (Levels[i].Downsample <= downsample + 1e-9)
            {
                return i;
            }
        }
        return 0;
    }

    /// <summary>Drops this slide's tiles from the shared cache and closes its byte source.</summary>
    public void Dispose()
    {
        _cache?.Evict(_id);
        _source.Dispose();
        foreach (var owned in _layout.Owned)
        {
            owned.Dispose();
        }
    }

    private Dictionary<string, string> BuildProperties()
    {
        var p = new Dictionary<string, string>(_layout.Properties, StringComparer.Ordinal)
        {
            ["openslide.vendor"] = _layout.Vendor,
            ["openslide.level-count"] = Levels.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var level in Levels)
        {
            var prefix = $"openslide.level[{level.Index}].";
            p[prefix + "width"] = level.Width.ToString(CultureInfo.InvariantCulture);
            p[prefix + "height"] = level.Height.ToString(CultureInfo.InvariantCulture);
            p[prefix + "downsample"] = level.Downsample.ToString("G17", CultureInfo.InvariantCulture); // %.17g like g_ascii_dtostr
            p[prefix + "tile-width"] = level.TileWidth.ToString(CultureInfo.InvariantCulture);
            p[prefix + "tile-height"] = level.TileHeight.ToString(CultureInfo.InvariantCulture);
        }
        if (MppX is { } mx)
        {
            p["openslide.mpp-x"] = TiffProperties.FormatG(mx);
        }
        if (MppY is { } my)
        {
            p["openslide.mpp-y"] = TiffProperties.FormatG(my);
        }
        if (ObjectivePower is { } op)
        {
            p["openslide.objective-power"] = TiffProperties.FormatG(op);
        }
        return p;
    }
}
