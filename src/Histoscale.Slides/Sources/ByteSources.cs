namespace Histoscale.Slides.Sources;

/// <summary>Opens a byte source for a path or URI. Other schemes (s3://, az://, gs://) register a provider here.</summary>
public static class ByteSources
{
    private static readonly List<IByteSourceProvider> Providers = [new HttpSourceProvider()];
    private static readonly Lock Gate = new();

    public static void Register(IByteSourceProvider provider)
    {
        lock (Gate)
        {
            Providers.Insert(0, provider);
        }
    }

    public static IByteSource Open(string pathOrUri)
    {
        if (pathOrUri.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(pathOrUri, UriKind.Absolute, out var uri))
        {
            if (uri.IsFile)
            {
                return new LocalFileSource(uri.LocalPath);
            }
            IByteSourceProvider[] providers;
            lock (Gate)
            {
                providers = [.. Providers];
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
