namespace Histoscale.Costing.Simulation;

/// <summary>The HPA's replica calculation, as documented for Kubernetes' horizontal pod autoscaler.</summary>
public static class ScalerMath
{
    /// <summary>
    /// <c>desired = ceil(current × metric / target)</c>, unchanged while |metric / target − 1| ≤ tolerance.
    /// <paramref name="metric"/> is the per-replica average (or an object metric's value).
    /// </summary>
    public static int Desired(int current, double metric, double target, double tolerance)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(current);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(target);
        var ratio = metric / target;
        if (Math.Abs(ratio - 1) <= tolerance)
        {
            return current;
        }
        return (int)Math.Min(int.MaxValue, Math.Ceiling(current * ratio - 1e-9));
    }

    /// <summary>The most replicas one scale-up step may reach: max(current × (1 + percent/100), current + pods).</summary>
    public static int ScaleUpLimit(int current, ScalerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var byPercent = (int)Math.Floor(current * (1 + settings.ScaleUpPercent / 100));
        return Math.Max(byPercent, current + settings.ScaleUpPods);
    }
}
