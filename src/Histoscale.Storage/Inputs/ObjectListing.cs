using Amazon.S3;
using Amazon.S3.Model;
using Azure;
using Google;
using Histoscale.Slides;
using Histoscale.Storage.Azure;
using Histoscale.Storage.Gcs;
using Histoscale.Storage.S3;

namespace Histoscale.Storage.Inputs;

/// <summary>Lists the object URIs under a bucket/container prefix, recursively, in each store's own way.</summary>
internal static class ObjectListing
{
    public static async Task<List<string>> ListAsync(StorageUri prefix, ObjectStoreProvider store, CancellationToken cancellationToken) =>
        [.. (await ListObjectsAsync(prefix, store, cancellationToken).ConfigureAwait(false)).Select(o => o.Uri)];

    public static async Task<List<ListedObject>> ListObjectsAsync(StorageUri prefix, ObjectStoreProvider store, CancellationToken cancellationToken)
    {
        try
        {
            return prefix.Kind switch
            {
                StoreKind.S3 => await ListS3Async(prefix, store, cancellationToken).ConfigureAwait(false),
                StoreKind.AzureBlob => await ListAzureAsync(prefix, store, cancellationToken).ConfigureAwait(false),
                _ => await ListGcsAsync(prefix, store, cancellationToken).ConfigureAwait(false),
            };
        }
        catch (AmazonS3Exception ex)
        {
            throw new SlideException(prefix.ToString(), $"cannot list: {ex.ErrorCode} (HTTP {(int)ex.StatusCode})", inner: ex);
        }
        catch (RequestFailedException ex)
        {
            throw new SlideException(prefix.ToString(), $"cannot list: {ex.ErrorCode ?? "error"} (HTTP {ex.Status})", inner: ex);
        }
        catch (GoogleApiException ex)
        {
            throw new SlideException(prefix.ToString(), $"cannot list: HTTP {(int)ex.HttpStatusCode} {ex.Error?.Message}", inner: ex);
        }
    }

    private static async Task<List<ListedObject>> ListS3Async(StorageUri prefix, ObjectStoreProvider store, CancellationToken ct)
    {
        var client = store.S3;
        var result = new List<ListedObject>();
        var request = new ListObjectsV2Request { BucketName = prefix.Container, Prefix = prefix.Key };
        ListObjectsV2Response response;
        do
        {
            response = await client.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            foreach (var o in response.S3Objects ?? [])
            {
                result.Add(new ListedObject($"s3://{prefix.Container}/{o.Key}", o.Key, o.Size ?? 0, o.ETag));
            }
            request.ContinuationToken = response.NextContinuationToken;
        }
        while (response.IsTruncated == true);
        return result;
    }

    private static async Task<List<ListedObject>> ListAzureAsync(StorageUri prefix, ObjectStoreProvider store, CancellationToken ct)
    {
        var result = new List<ListedObject>();
        if (prefix.Account is not null)
        {
            // https form: list with the same credentials the URL carries (SAS) and keep that form for the slides.
            var builder = new UriBuilder(prefix.Original) { Path = prefix.Container, Query = "" };
            var container = prefix.Original.Query.Contains("sig=", StringComparison.Ordinal)
                ? new global::Azure.Storage.Blobs.BlobContainerClient(new Uri(builder.Uri + prefix.Original.Query))
                : new global::Azure.Storage.Blobs.BlobContainerClient(builder.Uri, new global::Azure.Identity.DefaultAzureCredential());
            await foreach (var blob in container.GetBlobsAsync(global::Azure.Storage.Blobs.Models.BlobTraits.None, global::Azure.Storage.Blobs.Models.BlobStates.None, prefix.Key, ct).ConfigureAwait(false))
            {
                result.Add(new ListedObject($"https://{prefix.Original.Host}/{prefix.Container}/{Uri.EscapeDataString(blob.Name).Replace("%2F", "/", StringComparison.Ordinal)}{prefix.Original.Query}", blob.Name, blob.Properties?.ContentLength ?? 0, blob.Properties?.ETag?.ToString()));
            }
            return result;
        }
        var client = AzureClients.Container(prefix.Container, store.Options);
        await foreach (var blob in client.GetBlobsAsync(global::Azure.Storage.Blobs.Models.BlobTraits.None, global::Azure.Storage.Blobs.Models.BlobStates.None, prefix.Key, ct).ConfigureAwait(false))
        {
            result.Add(new ListedObject($"az://{prefix.Container}/{blob.Name}", blob.Name, blob.Properties?.ContentLength ?? 0, blob.Properties?.ETag?.ToString()));
        }
        return result;
    }

    private static async Task<List<ListedObject>> ListGcsAsync(StorageUri prefix, ObjectStoreProvider store, CancellationToken ct)
    {
        var client = store.Gcs;
        var result = new List<ListedObject>();
        await foreach (var o in client.ListObjectsAsync(prefix.Container, prefix.Key).WithCancellation(ct).ConfigureAwait(false))
        {
            result.Add(new ListedObject($"gs://{prefix.Container}/{o.Name}", o.Name, (long)(o.Size ?? 0), o.Generation?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? o.ETag));
        }
        return result;
    }
}
