namespace Histoscale.Costing.Prices;

/// <summary>One storage class of one cloud: what keeping, reading back and sending out a GB costs.</summary>
public sealed record StorageClassPrice
{
    /// <summary>Stable id, e.g. <c>aws-s3-standard</c>.</summary>
    public required string Id { get; init; }

    /// <summary><c>aws</c>, <c>azure</c> or <c>gcp</c>.</summary>
    public required string Cloud { get; init; }

    /// <summary>The provider's name (<c>S3 Standard</c>, <c>Blob Cool (LRS)</c>, <c>Coldline</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Lifecycle tier: <c>hot</c>, <c>cool</c> or <c>archive</c>.</summary>
    public required string Tier { get; init; }

    /// <summary>USD per GB-month stored.</summary>
    public required double PerGbMonth { get; init; }

    /// <summary>USD per GB read back (retrieval fee; 0 for hot classes).</summary>
    public required double RetrievalPerGb { get; init; }

    /// <summary>USD per GB sent to the internet (first priced tier).</summary>
    public required double EgressPerGb { get; init; }

    /// <summary>Minimum storage duration in days (early deletion is billed up to it); 0 when none.</summary>
    public double MinimumDays { get; init; }

    /// <summary>
    /// How slides in this class are read for inference, as docs/data-loading.md names the emulated classes
    /// (<c>object-standard</c>), or <c>restore</c> when objects must be restored before any read.
    /// </summary>
    public required string Loading { get; init; }

    /// <summary>Hours before a restored object can be read (archive classes); 0 when read in place.</summary>
    public double RestoreHours { get; init; }

    /// <summary>The region the price is for.</summary>
    public required string Region { get; init; }

    /// <summary>The pricing page the figures were read from.</summary>
    public required Uri Source { get; init; }

    /// <summary>The date the figures were read.</summary>
    public required DateOnly Read { get; init; }

    /// <summary>Anything a reader must know (volume tiers, redundancy).</summary>
    public string? Note { get; init; }
}
