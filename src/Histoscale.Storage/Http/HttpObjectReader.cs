using Histoscale.Slides.Sources;
using System.Net;
using System.Net.Http.Headers;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Http;

/// <summary>
/// A file behind a plain http(s) URL (presigned S3/Azure/GCS URLs, any static file server) read with ranged GETs.
/// Like the SDK readers it makes single raw requests and only classifies failures; retries, caching and prefetch
/// are the layers every store shares. The length, ETag and Last-Modified come from a HEAD, or from a one-byte
/// ranged GET where HEAD is refused: presigned URLs are signed for GET only, so their HEAD answers 403.
/// </summary>
internal sealed class HttpObjectReader(HttpClient client, Uri url, string name) : ObjectReader(name)
{
    private EntityTagHeaderValue? _etag;
    private DateTimeOffset? _lastModified;

    public override async Task<SourceIdentity> GetIdentityAsync(CancellationToken cancellationToken)
    {
        try
        {
            using (var head = new HttpRequestMessage(HttpMethod.Head, url))
            using (var response = await client.SendAsync(head, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
            {
                if (response.IsSuccessStatusCode && response.Content.Headers.ContentLength is long length && response.Headers.AcceptRanges.Contains("bytes"))
                {
                    Remember(response);
                    return Identity(length);
                }
                if (StorageRequestException.IsTransientStatus((int)response.StatusCode))
                {
                    throw Status(response);
                }
            }
            using var probe = RangeRequest(0, 1);
            using var ranged = await client.SendAsync(probe, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (ranged.StatusCode == HttpStatusCode.PartialContent && ranged.Content.Headers.ContentRange?.Length is long total)
            {
                Remember(ranged);
                return Identity(total);
            }
            throw ranged.IsSuccessStatusCode ? RangesIgnored(ranged) : Status(ranged);
        }
        catch (Exception ex) when (Map(ex) is { } mapped)
        {
            throw mapped;
        }
    }

    public override async Task ReadRangeAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            using var request = RangeRequest(offset, destination.Length);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                throw response.IsSuccessStatusCode ? RangesIgnored(response) : Status(response);
            }
            if (response.Content.Headers.ContentRange is { From: long from } && from != offset)
            {
                throw new StorageRequestException(Name, $"server answered the range at offset {offset} with bytes from {from}", transient: false, 206);
            }
            CheckUnchanged(response);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await StreamReading.ReadExactlyAsync(body, destination, Name, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Map(ex) is { } mapped)
        {
            throw mapped;
        }
    }

    private HttpRequestMessage RangeRequest(long offset, int count)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
        return request;
    }

    /// <summary>Size and the validators the server gave (ETag, else Last-Modified): what skip/resume compares.</summary>
    private SourceIdentity Identity(long length) => new()
    {
        Length = length,
        ETag = _etag is null ? null : SourceIdentity.NormalizeETag(_etag.ToString()),
        Modified = _lastModified,
    };

    private void Remember(HttpResponseMessage response)
    {
        _etag = response.Headers.ETag;
        _lastModified = response.Content.Headers.LastModified;
    }

    /// <summary>
    /// A file replaced between reads would mix two versions' bytes into one slide; the validators seen at open must
    /// still hold. Compared here rather than sent as If-Match because weak ETags never match that way.
    /// </summary>
    private void CheckUnchanged(HttpResponseMessage response)
    {
        var changed = _etag is not null && response.Headers.ETag is { } etag
            ? etag.Tag != _etag.Tag
            : _lastModified is not null && response.Content.Headers.LastModified is { } modified && modified != _lastModified;
        if (changed)
        {
            throw new StorageRequestException(Name, "the file changed on the server while it was being read (ETag or Last-Modified differs from when it was opened); open it again", transient: false);
        }
    }

    private StorageRequestException Status(HttpResponseMessage response) =>
        StorageRequestException.FromStatus(Name, (int)response.StatusCode, response.ReasonPhrase);

    private StorageRequestException RangesIgnored(HttpResponseMessage response) =>
        new(Name, $"server ignored the Range request (answered {(int)response.StatusCode} instead of 206); range reads are required", transient: false, (int)response.StatusCode);

    /// <summary>Network failures are worth another try; cancellation (the caller's or the attempt timeout's) passes through.</summary>
    private StorageRequestException? Map(Exception ex) => ex switch
    {
        StorageRequestException or OperationCanceledException => null,
        HttpRequestException or IOException => new StorageRequestException(Name, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex),
        _ => null,
    };
}
