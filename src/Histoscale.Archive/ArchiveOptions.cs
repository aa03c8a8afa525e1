using Histoscale.Slides;

namespace Histoscale.Archive;

/// <summary>A folder of slides served as one collection; its name appears in the API and in token grants.</summary>
/// <param name="Name">Collection name: 1-64 letters, digits, '-', '_' or '.'.</param>
/// <param name="Root">
/// The folder, whose slides (symbolic links included) are served when inside it; or a remote prefix
/// (<c>s3://bucket/prefix</c>...) listed by <see cref="ArchiveOptions.RemoteSlides"/>.
/// </param>
public sealed record ArchiveCollection(string Name, string Root);

/// <summary>What the archive serves and how: collections, results, database, access. Given by the host.</summary>
public sealed record ArchiveOptions
{
    /// <summary>The slide collections, scanned at start and on <c>POST /api/v1/slides/scan</c>.</summary>
    public IReadOnlyList<ArchiveCollection> Collections { get; init; } = [];

    /// <summary>
    /// Folder of <c>infer</c> outputs: each <c>NAME.heatmap.tif</c> becomes an overlay of the one slide NAME it belongs
    /// to, by its place (<c>COLLECTION/FOLDER/</c> under this folder) or infer's records beside it; ambiguous ones are refused.
    /// </summary>
    public string? ResultsDirectory { get; init; }

    /// <summary>SQLite file path (created on first start), <c>postgres://</c> URL or Npgsql connection string.</summary>
    public required string Database { get; init; }

    /// <summary>A bootstrap admin token in clear (the host reads it from its environment); null for none.</summary>
    public string? AdminToken { get; init; }

    /// <summary>Lets requests without a token read every collection.</summary>
    public bool AnonymousRead { get; init; }

    /// <summary>
    /// Origins (<c>https://host[:port]</c>) whose browser pages may call the REST API (CORS); empty = CORS off, no
    /// CORS headers sent.
    /// </summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>Model repository listed by <c>GET /api/v1/models</c>; null lists none.</summary>
    public string? ModelRepository { get; init; }

    /// <summary>
    /// Model jobs: null answers <c>POST /api/v1/jobs</c> with 503. Jobs need <see cref="ModelRepository"/> and
    /// <see cref="ResultsDirectory"/> too.
    /// </summary>
    public ArchiveJobOptions? Jobs { get; init; }

    /// <summary>How slides are opened (sources, decoded-tile cache, decoder), as for <c>infer</c>.</summary>
    public SlideOptions SlideOptions { get; init; } = new();

    /// <summary>Lists and opens the slides of remote collection roots; null refuses remote roots.</summary>
    public IRemoteSlideStore? RemoteSlides { get; init; }

    /// <summary>Bytes of encoded tiles (JPEG/PNG responses) kept in memory, least recently used evicted.</summary>
    public long TileCacheBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Largest annotation request body in bytes; larger ones are refused with 413.</summary>
    public long MaxAnnotationBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest region or thumbnail edge in pixels a client may ask for.</summary>
    public int MaxRegionEdge { get; init; } = 8192;
}
