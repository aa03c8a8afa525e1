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
}

/// <summary>Creates byte sources for one family of URIs.</summary>
public interface IByteSourceProvider
{
    bool CanOpen(Uri uri);

    IByteSource Open(Uri uri);
}

internal sealed class HttpSourceProvider : IByteSourceProvider
{
    public bool CanOpen(Uri uri) => uri.Scheme is "http" or "https";

    public IByteSource Open(Uri uri) => new HttpRangeSource(uri);
}
