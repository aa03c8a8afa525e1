namespace Histoscale.Benchmarks.Storage;

/// <summary>Tile access patterns the storage benchmark replays.</summary>
public enum AccessPattern
{
    /// <summary>Every tile of a level in raster order on N threads, the plan hinted ahead as the pipeline will.</summary>
    Pipeline,

    /// <summary>Random viewports at random levels, one after another, as one person panning a viewer.</summary>
    Viewer,
}

/// <summary>What one storage benchmark run does.</summary>
public sealed record StorageBenchOptions
{
    public AccessPattern Pattern { get; init; } = AccessPattern.Pipeline;

    /// <summary>Store endpoints and accounts (the strategy under test replaces its strategy).</summary>
    public Histoscale.Storage.StorageOptions Storage { get; init; } = new();

    /// <summary>Decode threads of the pipeline pattern.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public int Level { get; init; }

    /// <summary>Tiles hinted ahead of the readers (pipeline pattern, when the source can prefetch).</summary>
    public int PrefetchAheadTiles { get; init; } = 512;

    /// <summary>Stop after this long (slow strategies on slow classes would otherwise take minutes).</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(20);

    public int Viewports { get; init; } = 30;

    public int ViewportWidth { get; init; } = 1024;

    public int ViewportHeight { get; init; } = 768;

    public int Seed { get; init; } = 1;
}

/// <summary>One run's figures. Megapixels count pixels inside the image; bytes needed are what the reader asked for.</summary>
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
