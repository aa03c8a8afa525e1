namespace Histoscale.Pipeline.Runs;

/// <summary>What a slide is doing.</summary>
public enum SlidePhase
{
    Opening,
    Inferring,
    Writing,
    Done,
    Skipped,
    Failed,
    Cancelled,
}

/// <summary>A progress event; raised on pipeline threads, so handlers must be quick and thread-safe.</summary>
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

    public double TilesPerSecond => Seconds > 0 ? TilesThisRun / Seconds : 0;

    /// <summary>Estimated seconds left for this slide at the current rate, or null before there is a rate.</summary>
    public double? EtaSeconds => TilesPerSecond > 0 ? (TilesTotal - TilesDone) / TilesPerSecond : null;
}
