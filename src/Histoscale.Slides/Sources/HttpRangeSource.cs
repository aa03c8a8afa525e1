using System.Net;
using System.Net.Http.Headers;

namespace Histoscale.Slides.Sources;

/// <summary>
/// A slide served over HTTP(S), read with Range requests: the minimal source for library users who do not reference
/// Histoscale.Storage. The length comes from a HEAD (or a 1-byte range GET where HEAD is refused). Every read checks
/// the server honoured the range and sent every byte asked for, so a truncated body is an error, never a short tile.
/// It does not retry: every failure is a SlideException naming the URI at once. Retries (Polly), caching, coalescing
/// and prefetch are Histoscale.Storage's ObjectStoreProvider, which opens the same URLs; Slides stays free of them so
/// there is one retry implementation (docs/architecture.md).
/// </summary>
internal sealed class HttpRangeSource : IByteSource
{
    private static readonly HttpClient SharedClient = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 64,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = TimeSpan.FromSeconds(60) };

    private readonly HttpClient _client;
    private readonly Uri _uri;

    /// <param name="uri">The slide's URL.</param>
    /// <param name="client">HTTP client; default a shared, pooled one.</param>
    public HttpRangeSource(Uri uri, HttpClient? client = null)
    {
        _uri = uri;
        _client = client ?? SharedClient;
        Name = uri.ToString();
        Identity = FetchIdentity();
        Length = Identity.Length;
    }

    public string Name { get; }

    public long Length { get; }

    /// <summary>Length, ETag and Last-Modified from the response that gave the length.</summary>
    public SourceIdentity Identity { get; }

    public int Read(long offset, Span<byte> buffer)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        using var request = RangeRequest(offset, count);
        using var response = Send(request);
        using var stream = response.Content.ReadAsStream();
        return ReadExactly(stream, buffer[..count], offset);
    }

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        var target = buffer[..count];
        using var request = RangeRequest(offset, count);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw Failure(ex);
        }
        using (response)
        {
            CheckRangeResponse(response, offset);
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                var total = 0;
                while (total < count)
                {
                    var n = await stream.ReadAsync(target[total..], cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw Truncated(offset, count, total);
                    }
                    total += n;
                }
                return total;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new SlideException(Name, $"HTTP body cut off at offset {offset}: {ex.Message}", inner: ex);
            }
        }
    }

    private SlideException Failure(Exception ex) => ex is TaskCanceledException
        ? new SlideException(Name, "HTTP request timed out", inner: ex)
        : new SlideException(Name, $"HTTP request failed: {ex.Message}", inner: ex);

    public void Dispose()
    {
        // The HttpClient is shared (connection pooling across slides); nothing per-source to release.
    }

    private int Clamp(long offset, int wanted) => offset >= Length ? 0 : (int)Math.Min(wanted, Length - offset);

    private HttpRequestMessage RangeRequest(long offset, int count)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
        return request;
    }

    private HttpResponseMessage Send(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw Failure(ex);
        }
        CheckRangeResponse(response, request.Headers.Range!.Ranges.First().From!.Value);
        return response;
    }

    private void CheckRangeResponse(HttpResponseMessage response, long offset)
    {
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            return;
        }
        var status = (int)response.StatusCode;
        response.Dispose();
        if (status is 200)
        {
            throw new SlideException(Name, "server ignored the Range request (answered 200 instead of 206); range reads are required");
        }
        throw new SlideException(Name, $"HTTP {status} {response.ReasonPhrase} reading at offset {offset}");
    }

    private int ReadExactly(Stream stream, Span<byte> buffer, long offset)
    {
        var total = 0;
        try
        {
            while (total < buffer.Length)
            {
                var n = stream.Read(buffer[total..]);
                if (n == 0)
                {
                    throw Truncated(offset, buffer.Length, total);
                }
                total += n;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new SlideException(Name, $"HTTP body cut off at offset {offset}: {ex.Message}", inner: ex);
        }
        return total;
    }

    private static SourceIdentity Identify(HttpResponseMessage response, long length) => new()
    {
        Length = length,
        ETag = response.Headers.ETag is { } etag ? SourceIdentity.NormalizeETag(etag.ToString()) : null,
        Modified = response.Content.Headers.LastModified,
    };

    private SlideException Truncated(long offset, int expected, int got) =>
        new(Name, $"truncated HTTP response at offset {offset}: expected {expected} bytes, got {got}");

    private SourceIdentity FetchIdentity()
    {
        try
        {
            using (var head = new HttpRequestMessage(HttpMethod.Head, _uri))
            using (var response = _client.Send(head))
            {
                if (response.IsSuccessStatusCode && response.Content.Headers.ContentLength is long len &&
                    response.Headers.AcceptRanges.Contains("bytes"))
                {
                    return Identify(response, len);
                }
                if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
                {
                    throw new SlideException(Name, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                }
            }
            using var probe = RangeRequest(0, 1);
            using var ranged = _client.Send(probe, HttpCompletionOption.ResponseHeadersRead);
            if (ranged.StatusCode == HttpStatusCode.PartialContent && ranged.Content.Headers.ContentRange?.Length is long total)
            {
                return Identify(ranged, total);
            }
            throw new SlideException(Name, $"server does not support byte ranges (HTTP {(int)ranged.StatusCode})");
        }
        catch (HttpRequestException ex)
        {
            throw new SlideException(Name, $"HTTP request failed: {ex.Message}", inner: ex);
        }
        catch (TaskCanceledException ex)
        {
            throw new SlideException(Name, "HTTP request timed out", inner: ex);
        }
    }
}
