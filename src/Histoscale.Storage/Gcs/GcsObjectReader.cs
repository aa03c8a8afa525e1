using System.Net.Http.Headers;
using Google;
using Google.Cloud.Storage.V1;
using Histoscale.Slides.Sources;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Gcs;

/// <summary>One GCS object read with ranged media downloads (JSON API, alt=media).</summary>
internal sealed class GcsObjectReader(StorageClient client, string bucket, string objectName, string name) : ObjectReader(name)
{
    public override async Task<SourceIdentity> GetIdentityAsync(CancellationToken cancellationToken)
    {
        try
        {
            var obj = await client.GetObjectAsync(bucket, objectName, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new SourceIdentity
            {
                Length = (long)(obj.Size ?? throw new StorageRequestException(Name, "object metadata has no size", transient: false)),
                ETag = SourceIdentity.NormalizeETag(obj.ETag),
                // Every write of an object is a new generation.
                Version = obj.Generation?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Modified = obj.UpdatedDateTimeOffset,
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
            var sink = new MemoryWriteStream(destination, Name, offset);
            var options = new DownloadObjectOptions { Range = new RangeHeaderValue(offset, offset + destination.Length - 1) };
            await client.DownloadObjectAsync(bucket, objectName, sink, options, cancellationToken).ConfigureAwait(false);
            if (sink.Written != destination.Length)
            {
                throw StorageRequestException.Truncated(Name, offset, destination.Length, sink.Written);
            }
        }
        catch (Exception ex) when (Map(ex) is { } mapped)
        {
            throw mapped;
        }
    }

    private StorageRequestException? Map(Exception ex) => ex switch
    {
        StorageRequestException or OperationCanceledException => null,
        GoogleApiException api when (int)api.HttpStatusCode != 0 => StorageRequestException.FromStatus(Name, (int)api.HttpStatusCode, api.Error?.Message, api),
        GoogleApiException or HttpRequestException or IOException => new StorageRequestException(Name, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex),
        InvalidOperationException when ex.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
            new StorageRequestException(Name, $"no Google credentials: {ex.Message}", transient: false, inner: ex),
        _ => null,
    };
}
