namespace Histoscale.Costing.Map;

/// <summary>Where a row's tiles per second come from (the map's <c>throughputSource</c> column).</summary>
public static class ThroughputSource
{
    /// <summary>Measured on the machine at hand and scaled to the asset's vCPUs with the measured per-vCPU rate (same CPU architecture).</summary>
    public const string Measured = "measured";

    /// <summary>A cited figure for the GPU (the table's <c>throughput.source</c>) × the instance's GPUs.</summary>
    public const string Published = "published";

    /// <summary>A stated rule, not a measurement there: the measured per-vCPU rate on the other CPU architecture, or a published GPU figure × the GPU factor.</summary>
    public const string Scaled = "scaled";

    /// <summary>Given on the command line for this asset.</summary>
    public const string Given = "given";

    /// <summary>No figure: nothing measured, published or given for this asset.</summary>
    public const string Unknown = "unknown";
}
