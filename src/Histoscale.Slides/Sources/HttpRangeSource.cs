using System.Net;
using System.Net.Http.Headers;

namespace Histoscale.Slides.Sources;

/// <summary>
/// A slide served over HTTP(S), read with Range requests. The length comes from a HEAD (or a 1-byte range
/// GET where HEAD is refused). Every read checks the server honoured the range and sent every byte asked for,
/// so a truncated body is an error, never a short tile. Transient failures (connection errors, timeouts, truncated
/// bodies, HTTP 408/429/500/502/503/504) are retried with exponential backoff; the rest (404, 403, a server that
/// ignores ranges...) fail at once. Either way the error is a SlideException naming the URI.
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

    /// <summary>Key in <see cref="Exception.Data"/> marking a failure worth retrying.</summary>
    private const string TransientKey = "histoscale.transient";

    private readonly HttpClient _client;
    private readonly Uri _uri;
    private readonly int _attempts;
    private readonly TimeSpan _firstDelay;

    /// <param name="uri">The slide's URL.</param>
    /// <param name="client">HTTP client; default a shared, pooled one.</param>
    /// <param name="attempts">Tries per read, the first included (≥ 1).</param>
    /// <param name="firstDelay">Wait before the first retry (default 200 ms), doubled each time, with jitter.</param>
    public HttpRangeSource(Uri uri, HttpClient? client = null, int attempts = 4, TimeSpan? firstDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        _uri = uri;
        _client = client ?? SharedClient;
        _attempts = attempts;
        _firstDelay = firstDelay ?? TimeSpan.FromMilliseconds(200);
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
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = RangeRequest(offset, count);
                using var response = Send(request);
                using var stream = response.Content.ReadAsStream();
                return ReadExactly(stream, buffer[..count], offset);
            }
            catch (Exception ex) when (Retryable(ex, attempt, CancellationToken.None) is { } wait)
            {
                Thread.Sleep(wait);
            }
        }
    }

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ReadOnceAsync(offset, buffer[..count], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (Retryable(ex, attempt, cancellationToken) is { } wait)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<int> ReadOnceAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var request = RangeRequest(offset, buffer.Length);
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
                while (total < buffer.Length)
                {
                    var n = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw Truncated(offset, buffer.Length, total);
                    }
                    total += n;
                }
                return total;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw Transient(new SlideException(Name, $"HTTP body cut off at offset {offset}: {ex.Message}", inner: ex));
            }
        }
    }

    /// <summary>How long to wait before trying again, or null when <paramref name="ex"/> is final (or the last try failed).</summary>
    private TimeSpan? Retryable(Exception ex, int attempt, CancellationToken cancellationToken)
    {
        if (attempt >= _attempts || cancellationToken.IsCancellationRequested || ex is not SlideException { Data: var data } || data[TransientKey] is not true)
        {
            return null;
        }
        var delay = _firstDelay * Math.Pow(2, attempt - 1);
        return delay * (0.75 + (0.5 * Random.Shared.NextDouble())); // jitter: clients failing together do not retry together
    }

    private static SlideException Transient(SlideException ex)
    {
        ex.Data[TransientKey] = true;
        return ex;
    }

    private SlideException Failure(Exception ex) => Transient(ex is TaskCanceledException
        ? new SlideException(Name, "HTTP request timed out", inner: ex)
        : new SlideException(Name, $"HTTP request failed: {ex.Message}", inner: ex));

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
        var failure = new SlideException(Name, $"HTTP {status} {response.ReasonPhrase} reading at offset {offset}");
        throw status is 408 or 429 or 500 or 502 or 503 or 504 ? Transient(failure) : failure;
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
            throw Transient(new SlideException(Name, $"HTTP body cut off at offset {offset}: {ex.Message}", inner: ex));
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
        Transient(new(Name, $"truncated HTTP response at offset {offset}: expected {expected} bytes, got {got}"));

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
