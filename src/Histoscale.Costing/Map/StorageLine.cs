namespace Histoscale.Costing.Map;

/// <summary>The yearly cost of keeping the archive in one cloud under one lifecycle (hot first, then a colder class).</summary>
public sealed record StorageLine
{
    /// <summary><c>aws</c>, <c>azure</c> or <c>gcp</c>.</summary>
    public required string Cloud { get; init; }

    /// <summary>E.g. <c>hot</c> (always hot) or <c>hot 30 d → archive</c>.</summary>
    public required string Lifecycle { get; init; }

    /// <summary>Id of the class slides stay in first.</summary>
    public required string HotClass { get; init; }

    /// <summary>Id of the class slides move to after the hot days (the hot class itself for an always-hot lifecycle).</summary>
    public required string ColdClass { get; init; }

    /// <summary>Terabytes (10¹² bytes) stored.</summary>
    public required double StoredTB { get; init; }

    /// <summary>Of which terabytes are in the hot class (the most recent hot days of intake).</summary>
    public required double HotTB { get; init; }

    /// <summary>Storage plus retrieval for a year, USD.</summary>
    public required double DollarsPerYear { get; init; }

    /// <summary><see cref="DollarsPerYear"/> divided by the slides a year.</summary>
    public required double DollarsPerSlide { get; init; }

    /// <summary>USD per GB to read a slide back from the cold class.</summary>
    public required double RetrievalPerGb { get; init; }

    /// <summary>USD per GB sent to the internet.</summary>
    public required double EgressPerGb { get; init; }

    /// <summary>How the cold class is read for inference (docs/data-loading.md's class, or <c>restore</c>).</summary>
    public required string Loading { get; init; }

    /// <summary>First-byte latency of the cold class's loading class in ms (docs/data-loading.md); null for <c>restore</c>.</summary>
    public double? FirstByteMs { get; init; }

    /// <summary>Per-stream MB/s of the cold class's loading class (docs/data-loading.md); null for <c>restore</c>.</summary>
    public double? StreamMegabytesPerSecond { get; init; }

    /// <summary>Hours before a cold slide can be read (0 = read in place).</summary>
    public required double RestoreHours { get; init; }
}
