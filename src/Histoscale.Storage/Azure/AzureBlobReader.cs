using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Histoscale.Slides.Sources;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Azure;

/// <summary>One blob read with ranged Get Blob requests.</summary>
internal sealed class AzureBlobReader(BlobClient blob, string name) : ObjectReader(name)
{
    public override async Task<SourceIdentity> GetIdentityAsync(CancellationToken cancellationToken)
    {
        try
        {
            var props = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return new SourceIdentity
            {
                Length = props.ContentLength,
                ETag = SourceIdentity.NormalizeETag(props.ETag.ToString()),
                Version = props.VersionId is { Length: > 0 } v ? v : null, // only with blob versioning on
                Modified = props.LastModified,
            };
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
            var options = new BlobDownloadOptions { Range = new HttpRange(offset, destination.Length) };
            using var result = (await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false)).Value;
            await using var body = result.Content;
            await StreamReading.ReadExactlyAsync(body, destination, Name, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Map(ex) is { } mapped)
        {
            throw mapped;
        }
    }

    private StorageRequestException? Map(Exception ex) => ex switch
    {
        StorageRequestException or OperationCanceledException => null,
        // Status 0: no answer at all (connection refused or dropped).
        RequestFailedException { Status: 0 } rf => new StorageRequestException(Name, rf.Message.Split('\n')[0], transient: true, inner: rf),
        RequestFailedException rf => StorageRequestException.FromStatus(Name, rf.Status, rf.ErrorCode, rf),
        global::Azure.Identity.AuthenticationFailedException auth => new StorageRequestException(Name, $"no Azure credentials: {auth.Message.Split('\n')[0]}", transient: false, inner: auth),
        HttpRequestException or IOException or AggregateException => new StorageRequestException(Name, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex),
        _ => null,
    };
}
