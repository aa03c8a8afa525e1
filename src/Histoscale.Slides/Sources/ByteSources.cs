namespace Histoscale.Slides.Sources;

/// <summary>
/// Opens a byte source for a path or URI with the providers a caller passes (<see cref="SlideOptions.Sources"/>):
/// local paths and file:// always, other schemes by the first provider that claims them. No registry: which
/// schemes a process can open is what its host composed.
/// </summary>
public static class ByteSources
{
    /// <summary>
    /// Plain http(s):// with range requests (presigned URLs, static file servers), each failure final: no retries,
    /// caching or prefetch. Histoscale.Storage's ObjectStoreProvider opens the same URLs with all three.
    /// </summary>
    public static IByteSourceProvider Http { get; } = new HttpSourceProvider();

    /// <summary>
    /// Opens a local path or file:// URI directly, any other URI with the first of <paramref name="providers"/> whose
    /// <see cref="IByteSourceProvider.CanOpen"/> accepts it. The caller owns the returned source.
    /// </summary>
    /// <exception cref="SlideException">No provider handles the URI's scheme, or a local file cannot be opened.</exception>
    public static IByteSource Open(string pathOrUri, IEnumerable<IByteSourceProvider> providers)
    {
        if (pathOrUri.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(pathOrUri, UriKind.Absolute, out var uri))
        {
            if (uri.IsFile)
            {
                return new LocalFileSource(uri.LocalPath);
            }
            foreach (var p in providers)
            {
                if (p.CanOpen(uri))
                {
                    return p.Open(uri);
                }
            }
            throw new SlideException(pathOrUri, $"unsupported URI scheme '{uri.Scheme}'");
        }
        return new LocalFileSource(pathOrUri);
    }

    /// <summary>
    /// The content identity of a path or URI without opening it as a slide (no format parsing, no read-ahead): what
    /// a skip check compares with the identity recorded when results were written. Throws like <see cref="Open"/>.
    /// </summary>
    public static SourceIdentity? Identify(string pathOrUri, IEnumerable<IByteSourceProvider> providers)
    {
        if (Formats.Dicom.DicomFormat.IsDicomWebSeriesUrl(pathOrUri, out var seriesUrl) && providers.OfType<IDicomWebProvider>().FirstOrDefault() is { } dicomWeb)
        {
            // A DICOMweb series is what its metadata says (every instance's attributes).
            using var series = dicomWeb.OpenDicomWebSeries(seriesUrl);
            return Formats.Dicom.DicomFormat.DicomWebIdentity(series.ReadMetadataAsync().GetAwaiter().GetResult());
        }
        if (pathOrUri.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(pathOrUri, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            foreach (var p in providers)
            {
                if (p.CanOpen(uri))
                {
                    return p.Identify(uri);
                }
            }
            throw new SlideException(pathOrUri, $"unsupported URI scheme '{uri.Scheme}'");
        }
        if (!pathOrUri.Contains("://", StringComparison.Ordinal) && Directory.Exists(pathOrUri))
        {
            // A local folder is one DICOM whole-slide series (as Slide.Open reads it): all its instances count.
            return Formats.Dicom.DicomFormat.LocalIdentity(pathOrUri);
        }
        using var source = Open(pathOrUri, providers);
        if (source is LocalFileSource && Formats.Dicom.DicomParser.HasMagic(source))
        {
            // A local DICOM instance opens with its siblings of the same series (as Slide.Open reads it): they all count.
            return Formats.Dicom.DicomFormat.LocalIdentity(source.Name);
        }
        return source.Identity;
    }
}

/// <summary>Creates byte sources for one family of URIs.</summary>
public interface IByteSourceProvider
{
    /// <summary>Whether this provider handles <paramref name="uri"/> (usually by its scheme).</summary>
    bool CanOpen(Uri uri);

    /// <summary>Opens a source for <paramref name="uri"/>; the caller owns and disposes it.</summary>
    IByteSource Open(Uri uri);

    /// <summary>The identity of the object at <paramref name="uri"/>; by default that of a source opened for it.</summary>
    SourceIdentity? Identify(Uri uri)
    {
        using var source = Open(uri);
        return source.Identity;
    }
}

internal sealed class HttpSourceProvider : IByteSourceProvider
{
    public bool CanOpen(Uri uri) => uri.Scheme is "http" or "https";

    public IByteSource Open(Uri uri) => new HttpRangeSource(uri);
}
