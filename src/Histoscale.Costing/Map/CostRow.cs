namespace Histoscale.Costing.Map;

/// <summary>One row of the cost:benefit map: an asset, its throughput and what a slide and a year cost on it.</summary>
public sealed record CostRow
{
    /// <summary>The asset id (<c>aws-g5-xlarge-a10g</c>).</summary>
    public required string Id { get; init; }

    /// <summary><c>aws</c>, <c>azure</c> or <c>gcp</c>.</summary>
    public required string Cloud { get; init; }

    /// <summary><c>serverless-cpu</c>, <c>vm-cpu</c> or <c>vm-gpu</c>.</summary>
    public required string AssetClass { get; init; }

    /// <summary>The provider's instance type.</summary>
    public required string InstanceType { get; init; }

    /// <summary>GPU model, or null.</summary>
    public string? Accelerator { get; init; }

    /// <summary>vCPUs.</summary>
    public required int Vcpus { get; init; }

    /// <summary>USD per hour.</summary>
    public required double PricePerHour { get; init; }

    /// <summary>Spot capacity.</summary>
    public required bool Spot { get; init; }

    /// <summary>Tiles per second of one instance; null when unknown.</summary>
    public double? TilesPerSecond { get; init; }

    /// <summary>One of the <see cref="Map.ThroughputSource"/> names.</summary>
    public required string ThroughputSource { get; init; }

    /// <summary><c>pricePerHour / 3600 × tilesPerSlide / tilesPerSecond</c>; null when the throughput is unknown.</summary>
    public double? DollarsPerSlide { get; init; }

    /// <summary>Slides one instance finishes per hour; null when the throughput is unknown.</summary>
    public double? SlidesPerHour { get; init; }

    /// <summary><c>dollarsPerSlide × slidesPerYear</c>: compute for a year at full utilisation; null when unknown.</summary>
    public double? DollarsPerYear { get; init; }
}
