namespace Histoscale.Pipeline.Runs;

/// <summary>What a slide is doing.</summary>
public enum SlidePhase
{
    /// <summary>Opening the slide, detecting tissue and planning tiles.</summary>
    Opening,
    /// <summary>Reading tiles and running the model.</summary>
    Inferring,
    /// <summary>Writing the outputs.</summary>
    Writing,
    /// <summary>Finished in this run.</summary>
    Done,
    /// <summary>Already finished by an earlier run with the same settings.</summary>
    Skipped,
    /// <summary>Failed; the error is in its <see cref="SlideSummary"/>.</summary>
    Failed,
    /// <summary>Stopped by cancellation; its checkpoint is kept for a resume.</summary>
    Cancelled,
}

/// <summary>A progress event; raised on pipeline threads, so handlers must be quick and thread-safe.</summary>
/// <param name="Name">The slide's output name.</param>
/// <param name="SlideIndex">0-based position of the slide in the run.</param>
/// <param name="SlideCount">Slides in the run.</param>
/// <param name="Phase">What the slide is doing.</param>
/// <param name="TilesDone">Tiles of the slide's plan done, resumed ones included.</param>
/// <param name="TilesTotal">Tiles in the slide's plan (0 before it is planned).</param>
/// <param name="TilesThisRun">Tiles inferred by this run.</param>
/// <param name="Seconds">Seconds since this slide started in this run.</param>
/// <param name="PixelsPerTile">Model-input pixels per tile (tile size²).</param>
public sealed record SlideProgress(
    string Name,
    int SlideIndex,
    int SlideCount,
    SlidePhase Phase,
    int TilesDone,
    int TilesTotal,
    int TilesThisRun,
    double Seconds,
    long PixelsPerTile)
{
    /// <summary>Model-input megapixels per second so far in this run.</summary>
    public double MegapixelsPerSecond => Seconds > 0 ? TilesThisRun * (double)PixelsPerTile / 1e6 / Seconds : 0;

    /// <summary>Tiles inferred per second so far in this run.</summary>
    public double TilesPerSecond => Seconds > 0 ? TilesThisRun / Seconds : 0;

    /// <summary>Estimated seconds left for this slide at the current rate, or null before there is a rate.</summary>
    public double? EtaSeconds => TilesPerSecond > 0 ? (TilesTotal - TilesDone) / TilesPerSecond : null;
}
