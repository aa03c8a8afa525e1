using Histoscale.Costing.Prices;

namespace Histoscale.Costing.Map;

/// <summary>Computes the cost:benefit rows of every asset in a price table.</summary>
public static class CostMap
{
    /// <summary>
    /// One row per asset, in table order. Throughput per instance: a figure given for the asset; else for GPU rows the
    /// published per-GPU figure × GPUs (× the GPU factor: <c>scaled</c>); else for CPU rows the measured per-vCPU rate × vCPUs (<c>measured</c> when
    /// the asset has the measuring machine's architecture, <c>scaled</c> otherwise); else unknown.
    /// </summary>
    public static IReadOnlyList<CostRow> Compute(PriceTable table, CostInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(inputs);
        inputs.Validate();
        foreach (var id in inputs.GivenTilesPerSecond.Keys)
        {
            table.Asset(id); // an unknown id is an error, not a silently ignored figure
        }
        var rows = new List<CostRow>(table.Assets.Count);
        foreach (var a in table.Assets)
        {
            var (tps, source) = Throughput(a, inputs);
            rows.Add(Row(a, tps, source, inputs.TilesPerSlide, inputs.SlidesPerYear));
        }
        return rows;
    }

    /// <summary>The row of one asset with a known (or unknown, null) throughput: the formula.</summary>
    public static CostRow Row(AssetPrice asset, double? tilesPerSecond, string source, double tilesPerSlide, double slidesPerYear)
    {
        ArgumentNullException.ThrowIfNull(asset);
        double? perSlide = null, perHour = null, perYear = null;
        if (tilesPerSecond is { } t && t > 0)
        {
            perSlide = DollarsPerSlide(asset.PricePerHour, tilesPerSlide, t);
            perHour = t * 3600 / tilesPerSlide;
            perYear = perSlide * slidesPerYear;
        }
        return new CostRow
        {
            Id = asset.Id,
            Cloud = asset.Cloud,
            AssetClass = asset.AssetClass,
            InstanceType = asset.InstanceType,
            Accelerator = asset.Accelerator,
            Vcpus = asset.Vcpus,
            PricePerHour = asset.PricePerHour,
            Spot = asset.Spot,
            TilesPerSecond = tilesPerSecond,
            ThroughputSource = tilesPerSecond is null ? Map.ThroughputSource.Unknown : source,
            DollarsPerSlide = perSlide,
            SlidesPerHour = perHour,
            DollarsPerYear = perYear,
        };
    }

    /// <summary><c>pricePerHour / 3600 × tilesPerSlide / tilesPerSecond</c>.</summary>
    public static double DollarsPerSlide(double pricePerHour, double tilesPerSlide, double tilesPerSecond) =>
        pricePerHour / 3600 * tilesPerSlide / tilesPerSecond;

    /// <summary>Tiles per second of one instance of <paramref name="asset"/> and where the figure comes from.</summary>
    public static (double? TilesPerSecond, string Source) Throughput(AssetPrice asset, CostInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.GivenTilesPerSecond.TryGetValue(asset.Id, out var given))
        {
            return (given, ThroughputSource.Given);
        }
        if (asset.Kind == AssetKind.VmGpu)
        {
            return asset.PublishedTilesPerSecondPerGpu is { } p
                ? (p * asset.GpuCount * inputs.GpuFactor, inputs.GpuFactor == 1 ? ThroughputSource.Published : ThroughputSource.Scaled)
                : (null, ThroughputSource.Unknown);
        }
        if (inputs.MeasuredTilesPerSecondPerVcpu is { } perVcpu)
        {
            var source = asset.Arch == inputs.MeasuredArch ? ThroughputSource.Measured : ThroughputSource.Scaled;
            return (perVcpu * asset.Vcpus, source);
        }
        return (null, ThroughputSource.Unknown);
    }

    /// <summary>
    /// The cheapest row (by dollars per slide) whose one instance finishes a slide within <paramref name="turnaround"/>,
    /// i.e. <c>tilesPerSlide / tilesPerSecond ≤ turnaround</c>; null when none does.
    /// </summary>
    public static CostRow? CheapestMeeting(IEnumerable<CostRow> rows, double tilesPerSlide, TimeSpan turnaround, bool includeSpot = false) =>
        rows.Where(r => r.TilesPerSecond is { } t && tilesPerSlide / t <= turnaround.TotalSeconds && (includeSpot || !r.Spot))
            .OrderBy(r => r.DollarsPerSlide)
            .FirstOrDefault();
}
