namespace Histoscale.Costing.Prices;

/// <summary>How running time is billed: in increments of <see cref="IncrementSeconds"/>, at least <see cref="MinimumSeconds"/> per start.</summary>
public sealed record BillingRule
{
    /// <summary>Stable id referenced by asset rows, e.g. <c>aws-ec2-linux</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Billing granularity in seconds (1 = per second).</summary>
    public required double IncrementSeconds { get; init; }

    /// <summary>Minimum billed seconds each time an instance or task starts.</summary>
    public required double MinimumSeconds { get; init; }

    /// <summary>The page that states the rule.</summary>
    public required Uri Source { get; init; }

    /// <summary>The rule in words.</summary>
    public string? Note { get; init; }

    /// <summary>Billed seconds for one instance that ran <paramref name="seconds"/> from start to stop.</summary>
    public double BilledSeconds(double seconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seconds);
        var rounded = Math.Ceiling(seconds / IncrementSeconds - 1e-9) * IncrementSeconds;
        return Math.Max(MinimumSeconds, rounded);
    }
}
