using System.Net.Http.Headers;
using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Storage.Remote;
using Polly;
using Polly.Timeout;

namespace Histoscale.Storage.DicomWeb;

/// <summary>
/// One DICOMweb series over WADO-RS: <c>GET …/series/{S}/metadata</c> (<c>application/dicom+json</c>) and
/// <c>GET …/instances/{I}/frames/{n,m,…}</c> answered as multipart/related, parsed here. Frames are asked for in the
/// media type the standard gives their transfer syntax (<c>image/jpeg</c> for JPEG baseline, <c>image/jp2</c> for
/// JPEG 2000, <c>application/octet-stream</c> for native pixels), each with its <c>transfer-syntax</c> parameter, or
/// as stored (<c>application/octet-stream; transfer-syntax=*</c>) when the reader does not know it. Every request
/// carries the bearer token when one is configured and goes through the one retry policy of all remote reads
/// (<see cref="RetryPolicy"/>): 5xx, 429, timeouts, dropped connections and truncated multipart bodies are retried;
/// 4xx are final. Final failures are <see cref="SlideException"/>s naming the request's URL. A frame list the server
/// refuses — HTTP 400, 406 or 501, a single non-multipart body, or one part for several frames — is not a failure
/// yet: the first two frames are asked for alone, then together. If both come alone but not together, the server
/// refuses lists: the other frames follow one per request, and so does every later request to that server
/// (<see cref="DicomWebServers"/>, told once). If a frame fails alone, that is the failure; if the two come together
/// too, the refusal was this list's (a frame number the server will not serve, say) and is the failure — nothing is
/// remembered. One frame per request, at most <see cref="MaxConcurrentRequests"/> such requests of this series run at once.
/// </summary>
internal sealed class DicomWebSeriesClient : IDicomWebSeries
{
    private readonly HttpClient _client;
    private readonly string _base;
    private readonly string? _token;
    private readonly bool _tokenWithheld;
    private readonly RetryOptions _retry;
    private readonly ResiliencePipeline _pipeline;
    private readonly Strategies.StorageStats? _stats;
    private readonly DicomWebServers _servers;
    private readonly string _server;
    private readonly int _maxFrames;
    private readonly int _maxPrefetchFrames;
    private readonly SemaphoreSlim _singleSlots;
    private volatile bool _singleFrames;

    public DicomWebSeriesClient(HttpClient client, Uri series, string name, StorageOptions options, DicomWebServers? servers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _base = series.GetLeftPart(UriPartial.Path).TrimEnd('/');
        Name = name;
        // The token is a credential: it never travels in clear to another machine. A job's slide URL may come from
        // anyone who can submit to the queue, so plain http gets it only on loopback.
        var token = options.DicomWebToken;
        _tokenWithheld = token is not null && !MaySendToken(series);
        _token = _tokenWithheld ? null : token;
        _retry = options.Strategy.Retry;
        _maxFrames = Math.Max(1, options.DicomWebFramesPerRequest);
        _maxPrefetchFrames = _maxFrames == 1 ? 1 : Math.Max(1, options.DicomWebPrefetchFramesPerRequest);
        MaxConcurrentRequests = Math.Max(1, options.DicomWebConcurrency);
        _singleSlots = new SemaphoreSlim(MaxConcurrentRequests);
        MaxHeldFrameBytes = Math.Max(0, options.DicomWebHeldFrameBytes);
        _stats = options.DicomWebStats;
        _servers = servers ?? new DicomWebServers(options.Warning);
        _server = DicomWebServers.ServiceRoot(_base);
        _pipeline = RetryPolicy.Build(_retry, () => { });
    }

    public string Name { get; }

    /// <summary>The configured frames per request; 1 once this server is known to refuse frame lists.</summary>
    public int MaxFramesPerRequest => SingleFrames ? 1 : _maxFrames;

    public int MaxFramesPerPrefetchRequest => SingleFrames ? 1 : _maxPrefetchFrames;

    public int MaxConcurrentRequests { get; }

    public long MaxHeldFrameBytes { get; }

    /// <summary>Whether frames go one per request because this series' server refused a frame list.</summary>
    private bool SingleFrames => _singleFrames || (_singleFrames = _servers.RefusesFrameLists(_server));

    public Task<byte[]> ReadMetadataAsync(CancellationToken cancellationToken = default)
    {
        var url = _base + "/metadata";
        return Run(url, async ct =>
        {
            using var request = Request(url, "application/dicom+json");
            using var response = await Send(request, url, ct).ConfigureAwait(false);
            var body = await ReadBody(response, url, ct).ConfigureAwait(false);
            return body;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<DicomWebFrame>> ReadFramesAsync(string sopInstanceUid, IReadOnlyList<int> frameNumbers, string? transferSyntax, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frameNumbers);
        if (frameNumbers.Count == 0)
        {
            return [];
        }
        if (frameNumbers.Count == 1)
        {
            return [await ReadOneAsync(sopInstanceUid, frameNumbers[0], transferSyntax, cancellationToken).ConfigureAwait(false)];
        }
        if (SingleFrames)
        {
            return await ReadEachAsync(sopInstanceUid, frameNumbers, transferSyntax, cancellationToken).ConfigureAwait(false);
        }
        var url = FramesUrl(sopInstanceUid, frameNumbers);
        var accept = Accept(transferSyntax);
        try
        {
            return await Run<IReadOnlyList<DicomWebFrame>>(url, async ct =>
            {
                using var request = Request(url, accept);
                HttpResponseMessage response;
                try
                {
                    response = await Send(request, url, ct).ConfigureAwait(false);
                }
                catch (StorageRequestException ex) when (ex.Status is 400 or 406 or 501)
                {
                    // Refused outright (not retried, 501 included): the list, or this frame? Asking for one tells.
                    throw new FrameListRefusedException(ex.Cause, ex);
                }
                using (response)
                {
                    var contentType = response.Content.Headers.ContentType?.ToString() ?? "";
                    var body = await ReadBody(response, url, ct).ConfigureAwait(false);
                    if (MultipartRelated.MediaType(contentType) != "multipart/related")
                    {
                        throw new FrameListRefusedException($"a single '{contentType}' body, not multipart/related");
                    }
                    var frames = Frames(url, contentType, body, frameNumbers.Count, out var parts);
                    return frames ?? throw new FrameListRefusedException($"a multipart/related answer of {parts} part for {frameNumbers.Count} frames");
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (FrameListRefusedException refusal)
        {
            // The list, or the server? The first two frames alone: a failure of either is the failure (nothing is
            // remembered). Then the two together (unless they were the list refused): refused while they come alone,
            // the server refuses lists, and from now on gets one frame per request; answered, the refusal was this
            // list's, and is the failure.
            var known = await ReadEachAsync(sopInstanceUid, [frameNumbers[0], frameNumbers[1]], transferSyntax, cancellationToken).ConfigureAwait(false);
            if (frameNumbers.Count > 2 && !await RefusesList(sopInstanceUid, [frameNumbers[0], frameNumbers[1]], transferSyntax, cancellationToken).ConfigureAwait(false))
            {
                throw new SlideException(url, $"the server refused this list of {frameNumbers.Count} frames ({refusal.Cause}) but serves frame lists; asked one by one, frames {frameNumbers[0]} and {frameNumbers[1]} came", inner: refusal);
            }
            _singleFrames = true;
            _servers.RefusedFrameLists(_server, $"DICOMweb server {_server} answered a request for {frameNumbers.Count} frames ({url}) with {refusal.Cause}; asking it for one frame per request from now on");
            var rest = await ReadEachAsync(sopInstanceUid, frameNumbers.Skip(2).ToList(), transferSyntax, cancellationToken).ConfigureAwait(false);
            return [.. known, .. rest];
        }
    }

    /// <summary>Whether the server refuses a list of frames it serves one by one (any other failure is thrown).</summary>
    private async Task<bool> RefusesList(string sopInstanceUid, IReadOnlyList<int> frameNumbers, string? transferSyntax, CancellationToken cancellationToken)
    {
        var url = FramesUrl(sopInstanceUid, frameNumbers);
        var accept = Accept(transferSyntax);
        return await Run(url, async ct =>
        {
            using var request = Request(url, accept);
            HttpResponseMessage response;
            try
            {
                response = await Send(request, url, ct).ConfigureAwait(false);
            }
            catch (StorageRequestException ex) when (ex.Status is 400 or 406 or 501)
            {
                return true;
            }
            using (response)
            {
                var contentType = response.Content.Headers.ContentType?.ToString() ?? "";
                var body = await ReadBody(response, url, ct).ConfigureAwait(false);
                return MultipartRelated.MediaType(contentType) != "multipart/related" || Frames(url, contentType, body, frameNumbers.Count, out _) is null;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Frames one per request, at most <see cref="MaxConcurrentRequests"/> of this series' at once.</summary>
    private async Task<IReadOnlyList<DicomWebFrame>> ReadEachAsync(string sopInstanceUid, IReadOnlyList<int> frameNumbers, string? transferSyntax, CancellationToken cancellationToken) =>
        await Task.WhenAll(frameNumbers.Select(async n =>
        {
            await _singleSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await ReadOneAsync(sopInstanceUid, n, transferSyntax, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _singleSlots.Release();
            }
        })).ConfigureAwait(false);

    private Task<DicomWebFrame> ReadOneAsync(string sopInstanceUid, int frameNumber, string? transferSyntax, CancellationToken cancellationToken)
    {
        var url = FramesUrl(sopInstanceUid, [frameNumber]);
        var accept = Accept(transferSyntax);
        return Run(url, async ct =>
        {
            using var request = Request(url, accept);
            using var response = await Send(request, url, ct).ConfigureAwait(false);
            var contentType = response.Content.Headers.ContentType?.ToString() ?? "";
            var body = await ReadBody(response, url, ct).ConfigureAwait(false);
            return Frames(url, contentType, body, 1)[0];
        }, cancellationToken);
    }

    private string FramesUrl(string sopInstanceUid, IReadOnlyList<int> frameNumbers) =>
        $"{_base}/instances/{Uri.EscapeDataString(sopInstanceUid)}/frames/{string.Join(',', frameNumbers)}";

    public void Dispose()
    {
        // The HTTP client is the provider's, shared by every source it opens. The single-frame slots are not disposed:
        // a hinted request may still be running (they hold no wait handle).
    }

    /// <summary>
    /// The Accept header for frames in <paramref name="transferSyntax"/> (PS3.18 §8.7.3: the media type each syntax
    /// is sent as, with the syntax as a parameter), or as stored when null or "*".
    /// </summary>
    public static string Accept(string? transferSyntax) => transferSyntax switch
    {
        null or "" or "*" => "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*",
        "1.2.840.10008.1.2.4.50" or "1.2.840.10008.1.2.4.51" or "1.2.840.10008.1.2.4.57" or "1.2.840.10008.1.2.4.70" =>
            $"multipart/related; type=\"image/jpeg\"; transfer-syntax={transferSyntax}",
        "1.2.840.10008.1.2.4.90" or "1.2.840.10008.1.2.4.91" => $"multipart/related; type=\"image/jp2\"; transfer-syntax={transferSyntax}",
        "1.2.840.10008.1.2.4.92" or "1.2.840.10008.1.2.4.93" => $"multipart/related; type=\"image/jpx\"; transfer-syntax={transferSyntax}",
        "1.2.840.10008.1.2.4.80" or "1.2.840.10008.1.2.4.81" => $"multipart/related; type=\"image/jls\"; transfer-syntax={transferSyntax}",
        // Native pixels are the same bytes in implicit and explicit VR little endian; octet-stream's default syntax is the latter.
        "1.2.840.10008.1.2" or "1.2.840.10008.1.2.1" => "multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1",
        _ => $"multipart/related; type=\"application/octet-stream\"; transfer-syntax={transferSyntax}",
    };

    /// <summary>The frames of a multipart/related answer: one part per frame asked for, each with the syntax its Content-Type (or the message's type parameter) names.</summary>
    public static IReadOnlyList<DicomWebFrame> Frames(string url, string contentType, byte[] body, int expected) =>
        Frames(url, contentType, body, expected, out _) ?? throw new StorageRequestException(url, $"multipart/related answer holds 1 part(s) for {expected} frame(s) asked for", transient: false);

    /// <summary>As <see cref="Frames(string, string, byte[], int)"/>, but null for a single part when several frames were asked for (a server that ignores frame lists).</summary>
    private static IReadOnlyList<DicomWebFrame>? Frames(string url, string contentType, byte[] body, int expected, out int partCount)
    {
        if (MultipartRelated.MediaType(contentType) != "multipart/related")
        {
            throw new StorageRequestException(url, $"expected a multipart/related answer, got Content-Type '{contentType}'", transient: false);
        }
        var boundary = MultipartRelated.Parameter(contentType, "boundary")
            ?? throw new StorageRequestException(url, $"multipart/related answer without a boundary parameter (Content-Type '{contentType}')", transient: false);
        List<MultipartPart> parts;
        try
        {
            parts = MultipartRelated.Split(body, boundary);
        }
        catch (FormatException ex)
        {
            // A body cut short in transit is worth another request; the message says what was wrong if it persists.
            throw new StorageRequestException(url, $"malformed multipart/related answer: {ex.Message}", transient: true, inner: ex);
        }
        partCount = parts.Count;
        if (parts.Count == 1 && expected > 1)
        {
            return null;
        }
        if (parts.Count != expected)
        {
            throw new StorageRequestException(url, $"multipart/related answer holds {parts.Count} part(s) for {expected} frame(s) asked for", transient: false);
        }
        // Orthanc puts the parts' syntax in the message's type parameter ("image/jpeg; transfer-syntax=…").
        var messageType = MultipartRelated.Parameter(contentType, "type");
        var messageSyntax = MultipartRelated.Parameter(contentType, "transfer-syntax")
            ?? (messageType is null ? null : MultipartRelated.Parameter(messageType, "transfer-syntax"));
        var frames = new DicomWebFrame[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            var partType = part.ContentType ?? messageType ?? "";
            var syntax = MultipartRelated.Parameter(partType, "transfer-syntax") ?? messageSyntax ?? DefaultSyntax(MultipartRelated.MediaType(partType));
            frames[i] = new DicomWebFrame(body.AsSpan(part.Offset, part.Length).ToArray(), syntax);
        }
        return frames;
    }

    /// <summary>A media type's default transfer syntax (PS3.18 table 8.7.3-2) when no parameter names one.</summary>
    private static string? DefaultSyntax(string mediaType) => mediaType switch
    {
        "image/jpeg" => "1.2.840.10008.1.2.4.50",
        "application/octet-stream" => "1.2.840.10008.1.2.1",
        "image/jp2" => "1.2.840.10008.1.2.4.90",
        _ => null,
    };

    /// <summary>Whether a bearer token may go to <paramref name="series"/>: over https, or plain http to this machine.</summary>
    internal static bool MaySendToken(Uri series) =>
        series.Scheme == Uri.UriSchemeHttps || (series.Scheme == Uri.UriSchemeHttp && series.IsLoopback);

    private HttpRequestMessage Request(string url, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }
        return request;
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, string url, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new StorageRequestException(url, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex);
        }
        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            var reason = response.ReasonPhrase;
            response.Dispose();
            if (_tokenWithheld && status is 401 or 403)
            {
                reason = $"{reason}; the DICOMweb token was not sent: it goes only over https (or plain http to localhost)";
            }
            throw StorageRequestException.FromStatus(url, status, reason);
        }
        return response;
    }

    private async Task<byte[]> ReadBody(HttpResponseMessage response, string url, CancellationToken ct)
    {
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength is long declared && declared != body.Length)
            {
                throw new StorageRequestException(url, $"truncated response: Content-Length {declared}, got {body.Length} bytes", transient: true);
            }
            _stats?.Request(body.Length, prefetch: false);
            return body;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new StorageRequestException(url, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex);
        }
    }

    private async Task<T> Run<T>(string url, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async ct => await action(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageRequestException ex)
        {
            throw new SlideException(url, ex.Transient ? $"{ex.Cause} (gave up after {_retry.MaxAttempts} attempts)" : ex.Cause, inner: ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new SlideException(url, $"request timed out after {_retry.AttemptTimeout.TotalSeconds:0.#} s (gave up after {_retry.MaxAttempts} attempts)", inner: ex);
        }
        catch (Exception ex) when (RetryPolicy.IsNetworkFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw new SlideException(url, $"{ex.GetType().Name}: {ex.Message} (gave up after {_retry.MaxAttempts} attempts)", inner: ex);
        }
    }

    /// <summary>The server would not answer a list of frames (4xx/501, or one frame for several): not retried, not yet a failure.</summary>
    private sealed class FrameListRefusedException(string cause, Exception? inner = null) : Exception(cause, inner)
    {
        public string Cause => Message;
    }
}
