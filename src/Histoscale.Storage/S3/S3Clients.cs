using Amazon.Runtime;
using Amazon.S3;

namespace Histoscale.Storage.S3;

/// <summary>
/// Builds the S3 client: the SDK's standard credential chain (env keys, profile, SSO, IMDS) and region, and
/// <see cref="StorageOptions.S3ServiceUrl"/> for S3-compatible stores (MinIO, Ceph, emulators), which then get
/// path-style addressing since they rarely serve virtual-host buckets.
/// </summary>
internal static class S3Clients
{
    public static AmazonS3Client Create(StorageOptions options)
    {
        var config = new AmazonS3Config
        {
            MaxErrorRetry = 0, // our retry policy is the only one, so attempts and timeouts are what the strategy says
            Timeout = options.Strategy.Retry.AttemptTimeout,
            HttpClientFactory = new HandlerFactory(options),
        };
        if (options.S3ServiceUrl is { Length: > 0 } endpoint)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.S3Region ?? "us-east-1";
            // S3-compatible stores often predate the flexible (trailing CRC) checksums the SDK now sends by default.
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        return new AmazonS3Client(config);
    }

    private sealed class HandlerFactory(StorageOptions options) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(options.CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan };

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }
}
