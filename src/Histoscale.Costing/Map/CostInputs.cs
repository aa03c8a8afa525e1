namespace Histoscale.Costing.Map;

/// <summary>What the cost map needs besides the price table: the workload and the throughput figures the host has.</summary>
public sealed record CostInputs
{
    /// <summary>Model tiles per slide (from <c>--tiles-per-slide</c> or a planned slide).</summary>
    public required double TilesPerSlide { get; init; }

    /// <summary>Slides a year (the lab's volume).</summary>
    public required double SlidesPerYear { get; init; }

    /// <summary>Tiles per second per vCPU measured on this machine; null when nothing was measured.</summary>
    public double? MeasuredTilesPerSecondPerVcpu { get; init; }

    /// <summary>CPU architecture of the measuring machine (<c>x86_64</c> or <c>arm64</c>).</summary>
    public string MeasuredArch { get; init; } = "x86_64";

    /// <summary>Tiles per second given for individual assets (by id); they win over every other source.</summary>
    public IReadOnlyDictionary<string, double> GivenTilesPerSecond { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Factor applied to published GPU figures (e.g. the measured ratio of your model's cost to ResNet-50's); rows
    /// it changes are <c>scaled</c> instead of <c>published</c>. 1 = as published.
    /// </summary>
    public double GpuFactor { get; init; } = 1;

    /// <summary>Throws a <see cref="CostingConfigException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        if (!(TilesPerSlide > 0) || !double.IsFinite(TilesPerSlide))
        {
            throw new CostingConfigException($"tiles per slide must be positive, not {TilesPerSlide}");
        }
        if (!(SlidesPerYear > 0) || !double.IsFinite(SlidesPerYear))
        {
            throw new CostingConfigException($"slides per year must be positive, not {SlidesPerYear}");
        }
        if (!(GpuFactor > 0) || !double.IsFinite(GpuFactor))
        {
            throw new CostingConfigException($"the GPU factor must be positive, not {GpuFactor}");
        }
        if (MeasuredTilesPerSecondPerVcpu is { } m && !(m > 0))
        {
            throw new CostingConfigException($"the measured rate must be positive, not {m}");
        }
        foreach (var (id, v) in GivenTilesPerSecond)
        {
            if (!(v > 0) || !double.IsFinite(v))
            {
                throw new CostingConfigException($"tiles per second for '{id}' must be positive, not {v}");
            }
        }
    }
}
