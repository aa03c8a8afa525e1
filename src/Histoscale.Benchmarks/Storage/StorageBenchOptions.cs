namespace Histoscale.Benchmarks.Storage;

/// <summary>Tile access patterns the storage benchmark replays.</summary>
public enum AccessPattern
{
    /// <summary>Every tile of a level in raster order on N threads, the plan hinted ahead as the pipeline will.</summary>
    Pipeline,

    /// <summary>Random viewports at random levels, one after another, as one person panning a viewer.</summary>
    Viewer,
}

/// <summary>How the storage benchmark reads a DICOMweb series.</summary>
public enum DicomWebReadMode
{
    /// <summary>The pipeline pattern's hints honoured: frames fetched ahead in large multi-frame requests, concurrently.</summary>
    Prefetch,

    /// <summary>No hints: each frame a reader misses is requested with its following frames (up to the per-request limit).</summary>
    MultiFrame,

    /// <summary>No hints, one frame per request.</summary>
    FrameAtATime,
}

/// <summary>What one storage benchmark run does.</summary>
public sealed record StorageBenchOptions
{
    /// <summary>Which access pattern to replay; the pipeline's by default.</summary>
    public AccessPattern Pattern { get; init; } = AccessPattern.Pipeline;

    /// <summary>Store endpoints and accounts (the strategy under test replaces its strategy).</summary>
    public Histoscale.Storage.StorageOptions Storage { get; init; } = new();

    /// <summary>Decode threads of the pipeline pattern.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Pyramid level the pipeline pattern reads.</summary>
    public int Level { get; init; }

    /// <summary>Tiles hinted ahead of the readers (pipeline pattern, when the source can prefetch).</summary>
    public int PrefetchAheadTiles { get; init; } = 512;

    /// <summary>Stop after this long (slow strategies on slow classes would otherwise take minutes).</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Viewports the viewer pattern reads (unless <see cref="MaxDuration"/> ends it first).</summary>
    public int Viewports { get; init; } = 30;

    /// <summary>Viewport width in screen (level) pixels.</summary>
    public int ViewportWidth { get; init; } = 1024;

    /// <summary>Viewport height in screen (level) pixels.</summary>
    public int ViewportHeight { get; init; } = 768;

    /// <summary>Seed of the viewer pattern's random viewports, so runs replay the same pattern.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One run's figures. Megapixels count pixels inside the image; bytes needed are what the reader asked for.</summary>
/// <param name="Slide">The slide's path or URI.</param>
/// <param name="Pattern">Access pattern replayed ("pipeline" or "viewer").</param>
/// <param name="Strategy">Strategy name, or "none (raw file)".</param>
/// <param name="StorageClass">Emulated class, "store" for a store URI, or "local-disk".</param>
/// <param name="Tiles">Tiles (or viewports' tiles) read.</param>
/// <param name="Megapixels">Image pixels delivered, in millions.</param>
/// <param name="Seconds">Wall time of the pattern.</param>
/// <param name="MegapixelsPerSecond">Throughput.</param>
/// <param name="OpenMs">Time to open the slide, in milliseconds.</param>
/// <param name="TimeToFirstTileMs">Time from the start of the pattern to the first tile, in milliseconds.</param>
/// <param name="Requests">Requests made to the underlying source.</param>
/// <param name="PrefetchRequests">Of those, requests made by prefetching.</param>
/// <param name="BytesFetched">Bytes fetched from the underlying source.</param>
/// <param name="BytesNeeded">Bytes the reader asked for.</param>
/// <param name="ReadAmplification">BytesFetched ÷ BytesNeeded.</param>
/// <param name="ViewportMeanMs">Viewer pattern: mean time per viewport in milliseconds; null otherwise.</param>
/// <param name="ViewportP95Ms">Viewer pattern: 95th percentile time per viewport; null otherwise.</param>
/// <param name="Complete">Whether the whole pattern ran before <see cref="StorageBenchOptions.MaxDuration"/>.</param>
public sealed record StorageBenchResult(
    string Slide,
    string Pattern,
    string Strategy,
    string StorageClass,
    long Tiles,
    double Megapixels,
    double Seconds,
    double MegapixelsPerSecond,
    double OpenMs,
    double TimeToFirstTileMs,
    long Requests,
    long PrefetchRequests,
    long BytesFetched,
    long BytesNeeded,
    double ReadAmplification,
    double? ViewportMeanMs,
    double? ViewportP95Ms,
    bool Complete);
