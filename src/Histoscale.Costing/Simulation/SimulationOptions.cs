using Histoscale.Costing.Prices;

namespace Histoscale.Costing.Simulation;

/// <summary>One simulation: the arrivals, the replicas' speed and price, and the policy.</summary>
public sealed record SimulationOptions
{
    /// <summary>Arrival times in seconds from the start, not decreasing.</summary>
    public required IReadOnlyList<double> Arrivals { get; init; }

    /// <summary>Days the arrivals span (the cost per month and arrivals per hour are over these days).</summary>
    public required double Days { get; init; }

    /// <summary>Seconds one replica takes per slide (tiles per slide / tiles per second).</summary>
    public required double ServiceSeconds { get; init; }

    /// <summary>USD per replica-hour.</summary>
    public required double PricePerHour { get; init; }

    /// <summary>How replica running time is billed.</summary>
    public required BillingRule Billing { get; init; }

    /// <summary>Seconds from a scale-up decision to a ready replica.</summary>
    public required double StartupSeconds { get; init; }

    /// <summary>The scaling policy.</summary>
    public required ScalingPolicy Policy { get; init; }

    /// <summary>The scaler's parameters.</summary>
    public ScalerSettings Scaler { get; init; } = new();

    /// <summary>Fewest replicas (0 lets KEDA scale to zero; the HPA policy needs ≥ 1).</summary>
    public int MinReplicas { get; init; }

    /// <summary>Most replicas.</summary>
    public int MaxReplicas { get; init; } = 1000;

    /// <summary>The lab's turnaround target in minutes (p95 is compared with it).</summary>
    public double TurnaroundTargetMinutes { get; init; } = 60;

    /// <summary>Throws a <see cref="CostingConfigException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        Scaler.Validate();
        if (Arrivals.Count == 0)
        {
            throw new CostingConfigException("simulate: no arrivals (raise --slides-per-year or --days)");
        }
        if (!(Days > 0) || !(ServiceSeconds > 0) || !double.IsFinite(ServiceSeconds) || !(PricePerHour >= 0) || StartupSeconds < 0 || !(TurnaroundTargetMinutes > 0))
        {
            throw new CostingConfigException("simulate: days, service seconds and the turnaround target must be positive, price and start-up not negative");
        }
        if (MinReplicas < 0 || MaxReplicas < 1 || MinReplicas > MaxReplicas)
        {
            throw new CostingConfigException($"simulate: replicas must satisfy 0 ≤ min ({MinReplicas}) ≤ max ({MaxReplicas}), max ≥ 1");
        }
        if (Policy == ScalingPolicy.HpaQueueTime && MinReplicas < 1)
        {
            throw new CostingConfigException("simulate: hpa-queue-time needs --min-replicas ≥ 1 (the HPA cannot scale from zero; keda-queue can)");
        }
    }
}
