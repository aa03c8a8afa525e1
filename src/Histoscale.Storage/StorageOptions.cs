namespace Histoscale.Storage;

/// <summary>What the store providers are configured with; credentials themselves come from each SDK's usual places.</summary>
public sealed record StorageOptions
{
    /// <summary>Data-loading strategy of every source the providers open.</summary>
    public StorageStrategy Strategy { get; init; } = StorageStrategy.Default;

    /// <summary>
    /// Wraps the HTTP handler of every store client (a proxy, telemetry, or the tests' fault injection). The
    /// argument is the handler the client would have used.
    /// </summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? WrapHttpHandler { get; init; }

    /// <summary>Creates the innermost handler, wrapped by <see cref="WrapHttpHandler"/>.</summary>
    internal HttpMessageHandler CreateHandler()
    {
        HttpMessageHandler inner = new SocketsHttpHandler
        {
            // Many concurrent ranged GETs to one host are the point of the strategies.
            MaxConnectionsPerServer = 256,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        return WrapHttpHandler is null ? inner : WrapHttpHandler(inner);
    }
}
