namespace Histoscale.KServe;

/// <summary>Which KServe v2 transport a server URL names.</summary>
public enum RemoteProtocol
{
    /// <summary>KServe v2 over gRPC (Triton's port 8001).</summary>
    Grpc,
    /// <summary>KServe v2 over HTTP/REST (Triton's port 8000).</summary>
    Http,
}

/// <summary>
/// Parses the server URLs users give: <c>grpc://HOST[:PORT]</c> (also <c>grpcs://</c>) and <c>http(s)://HOST[:PORT]</c>,
/// defaulting to Triton's ports (8001 gRPC, 8000 HTTP) when none is written.
/// </summary>
public static class ServerAddress
{
    /// <summary>The transport and the http(s) address to connect to; throws <see cref="ArgumentException"/> when unusable.</summary>
    public static (RemoteProtocol Protocol, Uri Address) Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw new ArgumentException($"'{url}' is not a server URL (expected grpc://HOST:8001 or http://HOST:8000)", nameof(url));
        }
        var (protocol, scheme) = uri.Scheme switch
        {
            "grpc" => (RemoteProtocol.Grpc, "http"),
            "grpcs" => (RemoteProtocol.Grpc, "https"),
            "http" => (RemoteProtocol.Http, "http"),
            "https" => (RemoteProtocol.Http, "https"),
            _ => throw new ArgumentException($"'{url}': unknown scheme '{uri.Scheme}' (expected grpc, grpcs, http or https)", nameof(url)),
        };
        // Uri fills in 80/443 for http(s) when no port is written; look at the text to know whether one was.
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/', '?', '#')[0];
        var hasPort = authority.LastIndexOf(':') > authority.LastIndexOf(']');
        var port = hasPort ? uri.Port : protocol == RemoteProtocol.Grpc ? 8001 : 8000;
        return (protocol, new UriBuilder(scheme, uri.Host, port).Uri);
    }
}
