using Google.Apis.Http;
using Google.Cloud.Storage.V1;

namespace Histoscale.Storage.Gcs;

/// <summary>
/// Builds the GCS client: Application Default Credentials in production; with
/// <see cref="StorageOptions.GcsEmulatorHost"/> set, the emulator at that address with anonymous access (emulators
/// check no tokens).
/// </summary>
internal static class GcsClients
{
    public static StorageClient Create(StorageOptions options)
    {
        var builder = new StorageClientBuilder
        {
            EmulatorDetection = Google.Api.Gax.EmulatorDetection.None, // our options decide, not the environment
            HttpClientFactory = new HandlerFactory(options),
        };
        if (options.GcsEmulatorHost is { Length: > 0 } host)
        {
            // The emulator convention (STORAGE_EMULATOR_HOST): the JSON API at http://HOST/storage/v1/.
            builder.BaseUri = $"{(host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host).TrimEnd('/')}/storage/v1/";
            builder.UnauthenticatedAccess = true;
        }
        var client = builder.Build();
        // The Google HTTP layer retries 503s on its own by default; ours is the only retry policy.
        client.Service.HttpClient.MessageHandler.NumTries = 1;
        client.Service.HttpClient.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    }

    private sealed class HandlerFactory(StorageOptions options) : HttpClientFactory
    {
        protected override HttpMessageHandler CreateHandler(CreateHttpClientArgs args) => options.CreateHandler();
    }
}
