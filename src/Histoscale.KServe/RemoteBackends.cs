using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>
/// The one entry point the pipeline needs for remote inference: a model on a KServe v2 server (Histoscale's own or
/// NVIDIA Triton) as an <see cref="IInferenceBackend"/>.
/// </summary>
public static class RemoteBackends
{
    /// <summary>
    /// Connects to <paramref name="serverUrl"/> (<c>grpc://HOST:8001</c> or <c>http://HOST:8000</c>) and reads
    /// <paramref name="modelName"/>'s metadata and config (version: null = latest ready). The backend keeps up to
    /// <paramref name="concurrency"/> requests in flight (its InstanceCount), retries UNAVAILABLE/503 with jittered
    /// backoff and reconnects after a server restart. Throws <see cref="ModelConfigException"/> when the server does
    /// not serve the model, <see cref="InferenceUnavailableException"/> when it cannot be reached, and
    /// <see cref="ArgumentException"/> for a malformed URL.
    /// </summary>
    public static Task<KServeBackend> CreateAsync(string serverUrl, string modelName, string? version, int concurrency, CancellationToken cancellationToken = default) =>
        CreateAsync(serverUrl, modelName, version, new RemoteBackendOptions { Concurrency = concurrency }, cancellationToken);

    /// <summary>As above with every option (retries, timeouts) explicit.</summary>
    public static async Task<KServeBackend> CreateAsync(string serverUrl, string modelName, string? version, RemoteBackendOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        var (protocol, address) = ServerAddress.Parse(serverUrl);
        return protocol == RemoteProtocol.Grpc
            ? await KServeGrpcBackend.CreateAsync(address, modelName, version, options, cancellationToken).ConfigureAwait(false)
            : await KServeHttpBackend.CreateAsync(address, modelName, version, options, cancellationToken).ConfigureAwait(false);
    }
}
