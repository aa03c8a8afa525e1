using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using SourceIdentity = Histoscale.Slides.Sources.SourceIdentity;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.S3;

/// <summary>One S3 object read with ranged GetObject requests.</summary>
internal sealed class S3ObjectReader(IAmazonS3 client, string bucket, string key, string name) : ObjectReader(name)
{
    public override async Task<SourceIdentity> GetIdentityAsync(CancellationToken cancellationToken)
    {
        try
        {
            var meta = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new SourceIdentity
            {
                Length = meta.ContentLength,
                ETag = SourceIdentity.NormalizeETag(meta.ETag),
                // Unversioned buckets answer no version id, or the literal "null".
                Version = meta.VersionId is { Length: > 0 } v && v != "null" ? v : null,
                Modified = meta.LastModified is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null,
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
            var request = new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(offset, offset + destination.Length - 1) };
            using var response = await client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            await using var body = response.ResponseStream;
            await StreamReading.ReadExactlyAsync(body, destination, Name, offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Map(ex) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>SDK failures as retryable or final; cancellation (the caller's or the attempt timeout's) passes through.</summary>
    private StorageRequestException? Map(Exception ex) => ex switch
    {
        StorageRequestException => null,
        OperationCanceledException => null,
        AmazonS3Exception s3 when s3.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError" =>
            new StorageRequestException(Name, $"{s3.ErrorCode} (HTTP {(int)s3.StatusCode})", transient: true, (int)s3.StatusCode, s3),
        AmazonServiceException svc when (int)svc.StatusCode != 0 =>
            StorageRequestException.FromStatus(Name, (int)svc.StatusCode, svc.ErrorCode, svc),
        AmazonClientException when ex.Message.Contains("credential", StringComparison.OrdinalIgnoreCase) =>
            new StorageRequestException(Name, $"no AWS credentials: {ex.Message}", transient: false, inner: ex),
        // No status: the request never got an answer (connection refused or dropped, DNS, TLS) — try again.
        AmazonClientException or AmazonServiceException or HttpRequestException or IOException =>
            new StorageRequestException(Name, $"{ex.GetType().Name}: {ex.Message}", transient: true, inner: ex),
        _ => null,
    };
}
