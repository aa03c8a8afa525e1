using System.Collections.Concurrent;
using Google.Apis.Http;
using Google.Cloud.Storage.V1;

namespace Histoscale.Storage.Gcs;

/// <summary>
/// Builds the GCS client: Application Default Credentials in production; with STORAGE_EMULATOR_HOST set, the
/// emulator at that address with anonymous access (emulators check no tokens).
/// </summary>
internal static class GcsClients
{
    private static readonly ConcurrentDictionary<StorageOptions, Lazy<StorageClient>> Cache = new(ReferenceEqualityComparer.Instance);

    public static StorageClient For(StorageOptions options) => Cache.GetOrAdd(options, o => new Lazy<StorageClient>(() => Create(o))).Value;

    private static StorageClient Create(StorageOptions options)
    {
        var emulator = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("STORAGE_EMULATOR_HOST"));
        var builder = new StorageClientBuilder
        {
            EmulatorDetection = Google.Api.Gax.EmulatorDetection.EmulatorOrProduction,
            HttpClientFactory = new HandlerFactory(options),
        };
        if (emulator)
        {
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
