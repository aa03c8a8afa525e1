namespace Histoscale.Costing.Prices;

/// <summary>One priced asset: an instance type (or serverless size) of one cloud, on-demand or spot, in one region.</summary>
public sealed record AssetPrice
{
    /// <summary>Stable id used on the command line, e.g. <c>aws-g5-xlarge-a10g</c>.</summary>
    public required string Id { get; init; }

    /// <summary><c>aws</c>, <c>azure</c> or <c>gcp</c>.</summary>
    public required string Cloud { get; init; }

    /// <summary>The asset class (what the row's throughput rule and start-up default depend on).</summary>
    public required AssetKind Kind { get; init; }

    /// <summary>The provider's name for it (<c>g5.xlarge</c>, <c>Standard_NC4as_T4_v3</c>, <c>fargate 4 vCPU / 8 GiB</c>).</summary>
    public required string InstanceType { get; init; }

    /// <summary>GPU model (<c>T4</c>, <c>L4</c>, <c>A10G</c>, <c>A100</c>, <c>H100</c>) or null for CPU assets.</summary>
    public string? Accelerator { get; init; }

    /// <summary>GPUs in the instance (0 for CPU assets).</summary>
    public int GpuCount { get; init; }

    /// <summary>vCPUs of the instance or container.</summary>
    public required int Vcpus { get; init; }

    /// <summary>Memory in GiB.</summary>
    public required double MemoryGiB { get; init; }

    /// <summary><c>x86_64</c> or <c>arm64</c>.</summary>
    public required string Arch { get; init; }

    /// <summary>List price in USD per hour (Linux) for the whole instance or container size.</summary>
    public required double PricePerHour { get; init; }

    /// <summary>True for spot/preemptible capacity (may be reclaimed; the price moves).</summary>
    public bool Spot { get; init; }

    /// <summary>The region the price is for (<c>us-east-1</c>, <c>eastus</c>, <c>us-central1</c>).</summary>
    public required string Region { get; init; }

    /// <summary>The pricing page the figure was read from.</summary>
    public required Uri Source { get; init; }

    /// <summary>The date the figure was read.</summary>
    public required DateOnly Read { get; init; }

    /// <summary>Id of the <see cref="BillingRule"/> that bills it (per-second with a minimum, ...).</summary>
    public required string Billing { get; init; }

    /// <summary>Published inference throughput of one accelerator, in images (tiles) per second; null when none is cited.</summary>
    public double? PublishedTilesPerSecondPerGpu { get; init; }

    /// <summary>Where <see cref="PublishedTilesPerSecondPerGpu"/> comes from (required when it is given).</summary>
    public Uri? ThroughputSource { get; init; }

    /// <summary>What the published figure measures (model, precision, scenario), shown next to it.</summary>
    public string? ThroughputNote { get; init; }

    /// <summary>Seconds from "scale up" to a ready replica on this asset; null = the default of its kind.</summary>
    public double? StartupSeconds { get; init; }

    /// <summary>Anything a reader must know about the row (tiered prices, fractional GPUs, ...).</summary>
    public string? Note { get; init; }

    /// <summary>The asset class as the cost map names it: <c>serverless-cpu</c>, <c>vm-cpu</c> or <c>vm-gpu</c>.</summary>
    public string AssetClass => AssetKinds.Name(Kind);
}
