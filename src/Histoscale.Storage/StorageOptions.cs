namespace Histoscale.Storage;

/// <summary>What the store providers are configured with; credentials themselves come from each SDK's usual places.</summary>
public sealed record StorageOptions
{
    /// <summary>Data-loading strategy of every source the providers open.</summary>
    public StorageStrategy Strategy { get; init; } = StorageStrategy.Default;

    /// <summary>
    /// Endpoint of an S3-compatible store (MinIO, Ceph, emulators), which then gets path-style addressing; null for
    /// AWS itself. Hosts fill it from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
    /// </summary>
    public string? S3ServiceUrl { get; init; }

    /// <summary>Signing region for <see cref="S3ServiceUrl"/> (AWS_REGION; us-east-1 when unset).</summary>
    public string? S3Region { get; init; }

    /// <summary>Account for az://container/blob: a connection string (shared key or SAS, Azurite included).</summary>
    public string? AzureConnectionString { get; init; }

    /// <summary>Account name for az:// URIs with Azure AD (DefaultAzureCredential), when there is no connection string.</summary>
    public string? AzureAccount { get; init; }

    /// <summary>host:port of a GCS emulator (STORAGE_EMULATOR_HOST), reached without credentials; null for Google Cloud.</summary>
    public string? GcsEmulatorHost { get; init; }

    /// <summary>Bearer token sent with every DICOMweb request (<c>Authorization: Bearer …</c>); null for none. Hosts fill it from --dicomweb-token / HISTOSCALE_DICOMWEB_TOKEN.</summary>
    public string? DicomWebToken { get; init; }

    /// <summary>Most frames asked for in one WADO-RS frames request (neighbouring tiles coalesced); 1 for one frame per request. Default 8.</summary>
    public int DicomWebFramesPerRequest { get; init; } = 8;

    /// <summary>
    /// Most frames asked for in one WADO-RS request made for the pipeline's prefetch hints (frames known to be needed,
    /// so larger requests than a reader's speculative ones: a server that reads the whole instance per request, as
    /// Orthanc does, answers a few large requests much faster than many small ones). Default 32; when
    /// <see cref="DicomWebFramesPerRequest"/> is 1, hints are fetched one frame per request too.
    /// </summary>
    public int DicomWebPrefetchFramesPerRequest { get; init; } = 32;

    /// <summary>Most prefetch requests in flight at once per DICOMweb series (readers' own requests come on top). Default 4.</summary>
    public int DicomWebConcurrency { get; init; } = 4;

    /// <summary>
    /// Most bytes of DICOMweb frames held per series for the reader (prefetched, fetched with a neighbour, or read
    /// already, for a tile read twice); beyond it, read ones are dropped first, then the least recently used. Default 64 MiB.
    /// </summary>
    public long DicomWebHeldFrameBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Told things worth a line on the console that are not failures, once each — e.g. a DICOMweb server that refuses
    /// multi-frame requests, from then on asked one frame per request. Null: not told.
    /// </summary>
    public Action<string>? Warning { get; init; }

    /// <summary>Counts every DICOMweb request (metadata and frames) and the bytes received, when set (benchmarks).</summary>
    public Strategies.StorageStats? DicomWebStats { get; init; }

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
