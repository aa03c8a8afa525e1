using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace Histoscale.Storage.Azure;

/// <summary>
/// Builds blob clients. az://container/blob takes its account from <see cref="StorageOptions.AzureConnectionString"/>
/// (shared key or SAS, Azurite included) or else <see cref="StorageOptions.AzureAccount"/> with
/// DefaultAzureCredential (env, managed identity, CLI).
/// https://ACCOUNT.blob.core.windows.net/... URLs use their SAS query when present, else DefaultAzureCredential.
/// </summary>
internal static class AzureClients
{
    public static BlobClient For(StorageUri uri, StorageOptions options)
    {
        var clientOptions = new BlobClientOptions
        {
            Transport = new HttpClientTransport(options.CreateHandler()),
        };
        clientOptions.Retry.MaxRetries = 0; // our retry policy is the only one
        clientOptions.Retry.NetworkTimeout = options.Strategy.Retry.AttemptTimeout;
        if (uri.Account is not null)
        {
            var url = uri.Original;
            return url.Query.Contains("sig=", StringComparison.Ordinal)
                ? new BlobClient(url, clientOptions)
                : new BlobClient(url, new DefaultAzureCredential(), clientOptions);
        }
        return Container(uri.Container, options, clientOptions).GetBlobClient(uri.Key);
    }

    public static BlobContainerClient Container(string container, StorageOptions options, BlobClientOptions? clientOptions = null)
    {
        if (clientOptions is null)
        {
            clientOptions = new BlobClientOptions { Transport = new HttpClientTransport(options.CreateHandler()) };
            clientOptions.Retry.MaxRetries = 2;
        }
        if (options.AzureConnectionString is { Length: > 0 } cs)
        {
            return new BlobContainerClient(cs, container, clientOptions);
        }
        if (options.AzureAccount is { Length: > 0 } account)
        {
            return new BlobContainerClient(new Uri($"https://{account}.blob.core.windows.net/{container}"), new DefaultAzureCredential(), clientOptions);
        }
        throw new Slides.SlideException($"az://{container}", "no Azure account: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT for Azure AD (DefaultAzureCredential)");
    }
}
