namespace Histoscale.Costing.Simulation;

/// <summary>Deterministic arrival times (seconds from the start) for a pattern, a yearly volume and a seed.</summary>
public static class Arrivals
{
    /// <summary>Slides in one scanner batch of the bursty pattern.</summary>
    public const int BurstSize = 100;

    /// <summary>Seconds over which a batch's slides arrive (a scanner rack unloading).</summary>
    public const double BurstSpreadSeconds = 600;

    /// <summary>Share of the diurnal pattern's slides that arrive between 08:00 and 18:00.</summary>
    public const double WorkingHoursShare = 0.8;

    /// <summary>Sorted arrival times in [0, days × 86400) for <paramref name="slidesPerYear"/> on average (365-day year).</summary>
    public static double[] Generate(ArrivalPattern pattern, double slidesPerYear, double days, int seed)
    {
        if (!(slidesPerYear > 0) || !(days > 0) || !double.IsFinite(slidesPerYear * days))
        {
            throw new CostingConfigException("arrivals: slides per year and days must be positive");
        }
        var horizon = days * 86400;
        var rate = slidesPerYear / (365 * 86400.0); // slides per second
        var random = new Random(seed);
        var times = new List<double>((int)Math.Min(int.MaxValue / 2, rate * horizon * 1.1 + 16));
        switch (pattern)
        {
            case ArrivalPattern.Flat:
                Poisson(random, rate, horizon, times);
                break;
            case ArrivalPattern.Diurnal:
                // Thinning: draw at the peak rate, keep each with probability rate(t) / peak.
                var peak = rate * WorkingHoursShare * 24 / 10;
                var off = rate * (1 - WorkingHoursShare) * 24 / 14;
                var candidates = new List<double>();
                Poisson(random, peak, horizon, candidates);
                foreach (var t in candidates)
                {
                    var hour = t % 86400 / 3600;
                    var r = hour is >= 8 and < 18 ? peak : off;
                    if (random.NextDouble() * peak < r)
                    {
                        times.Add(t);
                    }
                }
                break;
            case ArrivalPattern.Bursty:
                Poisson(random, rate * 0.3, horizon, times);
                var batches = new List<double>();
                Poisson(random, rate * 0.7 / BurstSize, horizon, batches);
                foreach (var start in batches)
                {
                    for (var i = 0; i < BurstSize; i++)
                    {
                        var t = start + i * (BurstSpreadSeconds / BurstSize);
                        if (t < horizon)
                        {
                            times.Add(t);
                        }
                    }
                }
                times.Sort();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(pattern));
        }
        return [.. times];
    }

    private static void Poisson(Random random, double rate, double horizon, List<double> into)
    {
        var t = 0.0;
        while (true)
        {
            t += -Math.Log(1 - random.NextDouble()) / rate;
            if (t >= horizon)
            {
                return;
            }
            into.Add(t);
        }
    }
}
