namespace Histoscale.Costing.Simulation;

/// <summary>
/// A discrete-event simulation of slides arriving, waiting in one FIFO queue and being processed one at a time per
/// replica, with replicas started and stopped by a <see cref="ScalingPolicy"/>. Deterministic: the same options give
/// the same result. Runs until every slide is finished (no slide is dropped), billing replicas until the later of the
/// last simulated day and the last completion.
/// </summary>
public static class AutoscaleSimulator
{
    /// <summary>Runs one simulation.</summary>
    public static SimulationResult Run(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        for (var i = 1; i < options.Arrivals.Count; i++)
        {
            if (options.Arrivals[i] < options.Arrivals[i - 1] || options.Arrivals[0] < 0)
            {
                throw new CostingConfigException($"simulate: arrival {i} is earlier than the one before (arrivals must be sorted)");
            }
        }
        return new SimulationRun(options).Execute();
    }

    /// <summary>
    /// The fixed fleet with which no slide ever waits: the most slides that would be in service at once if each
    /// started on arrival (the most arrivals within any service time).
    /// </summary>
    public static int PeakFleet(IReadOnlyList<double> arrivals, double serviceSeconds)
    {
        ArgumentNullException.ThrowIfNull(arrivals);
        var peak = 0;
        var first = 0;
        for (var i = 0; i < arrivals.Count; i++)
        {
            while (arrivals[first] + serviceSeconds <= arrivals[i])
            {
                first++;
            }
            peak = Math.Max(peak, i - first + 1);
        }
        return Math.Max(1, peak);
    }

    /// <summary>The fleet sized for the mean load: ceil(arrivals per second × service seconds), at least 1.</summary>
    public static int MeanFleet(int arrivals, double days, double serviceSeconds) =>
        Math.Max(1, (int)Math.Ceiling(arrivals / (days * 86400) * serviceSeconds - 1e-9));
}
