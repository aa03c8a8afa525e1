namespace Histoscale.Costing.Simulation;

/// <summary>What a simulation reports (the <c>simulate --json</c> keys).</summary>
public sealed record SimulationResult
{
    /// <summary>Slides that arrived.</summary>
    public required int Slides { get; init; }

    /// <summary>Slides finished (all of them: the simulation runs until the system is empty).</summary>
    public required int Completed { get; init; }

    /// <summary>Mean arrivals per hour over the simulated days.</summary>
    public required double ArrivalsPerHour { get; init; }

    /// <summary>Total cost scaled to a month (365/12 days).</summary>
    public required double CostPerMonth { get; init; }

    /// <summary>Total cost of the run, USD.</summary>
    public required double TotalCost { get; init; }

    /// <summary>Billed replica-hours (with the billing rule's increments and minimums).</summary>
    public required double InstanceHours { get; init; }

    /// <summary>Median minutes from arrival to completion.</summary>
    public required double P50TurnaroundMinutes { get; init; }

    /// <summary>95th percentile minutes from arrival to completion.</summary>
    public required double P95TurnaroundMinutes { get; init; }

    /// <summary>Mean minutes from arrival to completion.</summary>
    public required double MeanTurnaroundMinutes { get; init; }

    /// <summary>Time-average slides in the system (waiting or in service) over <see cref="SimulatedHours"/>.</summary>
    public required double MeanInSystem { get; init; }

    /// <summary>Time-average replicas that are billed (starting, ready or finishing a slide).</summary>
    public required double MeanReplicas { get; init; }

    /// <summary>Most replicas billed at once.</summary>
    public required int MaxReplicas { get; init; }

    /// <summary>Most slides waiting at once.</summary>
    public required int MaxQueue { get; init; }

    /// <summary>Hours simulated: the days, plus the time the last slides took to finish.</summary>
    public required double SimulatedHours { get; init; }

    /// <summary>Fleet size of a fixed policy; null for autoscalers.</summary>
    public int? FixedReplicas { get; init; }

    /// <summary>The turnaround target in minutes.</summary>
    public required double TurnaroundTargetMinutes { get; init; }

    /// <summary>True when <see cref="P95TurnaroundMinutes"/> ≤ <see cref="TurnaroundTargetMinutes"/>.</summary>
    public required bool TurnaroundMet { get; init; }

    /// <summary>One entry per simulated day (including a partial last day of draining).</summary>
    public required IReadOnlyList<SimulationDay> PerDay { get; init; }

    /// <summary>One entry per simulated hour (the timeline plot's resolution).</summary>
    public required IReadOnlyList<SimulationHour> PerHour { get; init; }
}

/// <summary>One hour of a simulation.</summary>
public sealed record SimulationHour
{
    /// <summary>Hour index from 0.</summary>
    public required int Hour { get; init; }

    /// <summary>Slides that arrived this hour.</summary>
    public required int Arrivals { get; init; }

    /// <summary>Slides finished this hour.</summary>
    public required int Completed { get; init; }

    /// <summary>Cost of this hour's replica time, USD.</summary>
    public required double Cost { get; init; }

    /// <summary>Time-average billed replicas.</summary>
    public required double MeanReplicas { get; init; }

    /// <summary>Time-average slides in the system.</summary>
    public required double MeanInSystem { get; init; }

    /// <summary>Most slides waiting at once.</summary>
    public required int MaxQueue { get; init; }
}

/// <summary>One day of a simulation.</summary>
public sealed record SimulationDay
{
    /// <summary>Day index from 0.</summary>
    public required int Day { get; init; }

    /// <summary>Slides that arrived this day.</summary>
    public required int Arrivals { get; init; }

    /// <summary>Slides finished this day.</summary>
    public required int Completed { get; init; }

    /// <summary>Cost of this day's replica time, USD (minimum-billing surcharges on the day a replica stops).</summary>
    public required double Cost { get; init; }

    /// <summary>Time-average billed replicas.</summary>
    public required double MeanReplicas { get; init; }

    /// <summary>Time-average slides in the system.</summary>
    public required double MeanInSystem { get; init; }

    /// <summary>Most slides waiting at once.</summary>
    public required int MaxQueue { get; init; }

    /// <summary>95th percentile turnaround of the slides finished this day (0 when none).</summary>
    public required double P95TurnaroundMinutes { get; init; }
}
