using Histoscale.Costing;
using Histoscale.Costing.Prices;
using Histoscale.Costing.Simulation;

namespace Histoscale.Costing.Tests;

public class SimulatorTests
{
    private static readonly BillingRule PerSecond = new() { Id = "s", IncrementSeconds = 1, MinimumSeconds = 60, Source = new Uri("https://example.com") };

    private static SimulationOptions Options(IReadOnlyList<double> arrivals, ScalingPolicy policy, double service = 100, double days = 1, double startup = 60, int min = 0) => new()
    {
        Arrivals = arrivals,
        Days = days,
        ServiceSeconds = service,
        PricePerHour = 3.6,
        Billing = PerSecond,
        StartupSeconds = startup,
        Policy = policy,
        MinReplicas = min,
    };

    [Fact]
    public void Fixed_fleets_on_a_hand_computed_case()
    {
        double[] arrivals = [0, 10, 20];
        var peak = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.FixedPeak));
        Assert.Equal(3, peak.FixedReplicas);
        Assert.Equal(0, peak.MaxQueue);
        Assert.Equal(100 / 60.0, peak.P95TurnaroundMinutes, 9);
        Assert.Equal(3 * 24 * 3.6, peak.TotalCost, 6); // three replicas billed for the whole day
        Assert.Equal(3 * 24, peak.InstanceHours, 6);

        // One replica (ceil(3/86400 × 100) = 1): the slides finish at 100, 200, 300 → turnarounds 100, 190, 280 s.
        var mean = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.FixedMean));
        Assert.Equal(1, mean.FixedReplicas);
        Assert.Equal(190 / 60.0, mean.MeanTurnaroundMinutes, 9);
        Assert.Equal(190 / 60.0, mean.P50TurnaroundMinutes, 9);
        Assert.Equal(280 / 60.0, mean.P95TurnaroundMinutes, 9);
        Assert.Equal(2, mean.MaxQueue);
        Assert.Equal(24 * 3.6, mean.TotalCost, 6);
    }

    [Fact]
    public void Keda_scales_from_zero_on_the_next_poll_and_back_to_zero_after_the_cooldown()
    {
        // Arrival at 10 s; the poll at 30 s activates one replica (ready at 90 s), the slide runs 90-190 s.
        // The queue is empty from the poll at 210 s; last active at 180 s, so the poll at 480 s scales to zero:
        // billed 30-480 s = 450 s.
        var r = AutoscaleSimulator.Run(Options([10], ScalingPolicy.KedaQueue));
        Assert.Equal(180 / 60.0, r.MeanTurnaroundMinutes, 9);
        Assert.Equal(1, r.MaxReplicas);
        Assert.Equal(450 / 3600.0, r.InstanceHours, 9);
        Assert.Equal(450 / 3600.0 * 3.6, r.TotalCost, 9);
        Assert.True(r.TurnaroundMet);
    }

    [Fact]
    public void Idle_with_scale_to_zero_costs_nothing_and_a_minimum_replica_costs_its_hours()
    {
        double[] arrivals = [.. Enumerable.Range(0, 50).Select(i => i * 60.0)]; // the first hour of day 0 only
        var zero = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.KedaQueue, days: 3));
        Assert.Equal(3, zero.PerDay.Count);
        Assert.True(zero.PerDay[0].Cost > 0);
        Assert.Equal(0, zero.PerDay[1].Cost);
        Assert.Equal(0, zero.PerDay[2].Cost);
        Assert.Equal(0, zero.PerDay[2].MeanReplicas);

        var one = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.KedaQueue, days: 3, min: 1));
        Assert.Equal(24 * 3.6, one.PerDay[2].Cost, 6);
        Assert.Equal(one.TotalCost, one.PerDay.Sum(d => d.Cost), 6);
    }

    public static TheoryData<ArrivalPattern, ScalingPolicy> Combinations()
    {
        var data = new TheoryData<ArrivalPattern, ScalingPolicy>();
        foreach (var p in Enum.GetValues<ArrivalPattern>())
        {
            foreach (var s in Enum.GetValues<ScalingPolicy>())
            {
                data.Add(p, s);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void No_slide_is_lost_littles_law_holds_and_cost_is_instance_hours_times_price(ArrivalPattern pattern, ScalingPolicy policy)
    {
        var arrivals = Arrivals.Generate(pattern, 100_000, 3, seed: 7);
        var r = AutoscaleSimulator.Run(Options(arrivals, policy, service: 120, days: 3, min: policy == ScalingPolicy.HpaQueueTime ? 1 : 0));
        Assert.Equal(arrivals.Length, r.Slides);
        Assert.Equal(r.Slides, r.Completed);
        Assert.Equal(r.Slides, r.PerDay.Sum(d => d.Arrivals));
        Assert.Equal(r.Slides, r.PerDay.Sum(d => d.Completed));
        // Little's law on the output: L = λW over the simulated span (starts and ends empty).
        var lambdaPerMinute = r.Slides / (r.SimulatedHours * 60);
        Assert.Equal(r.MeanInSystem, lambdaPerMinute * r.MeanTurnaroundMinutes, 6);
        Assert.Equal(r.InstanceHours * 3.6, r.TotalCost, 6);
        Assert.Equal(r.TotalCost, r.PerDay.Sum(d => d.Cost), 6);
        Assert.True(r.MeanTurnaroundMinutes >= 2 - 1e-9, "no slide finishes faster than its service time");
        Assert.True(r.MaxReplicas >= r.MeanReplicas);
    }

    [Theory]
    [InlineData(ArrivalPattern.Flat)]
    [InlineData(ArrivalPattern.Diurnal)]
    [InlineData(ArrivalPattern.Bursty)]
    public void The_fixed_fleet_sized_for_the_peak_never_queues_and_the_mean_fleet_does_under_bursts(ArrivalPattern pattern)
    {
        var arrivals = Arrivals.Generate(pattern, 200_000, 2, seed: 3);
        var peak = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.FixedPeak, service: 300, days: 2));
        Assert.Equal(0, peak.MaxQueue);
        Assert.Equal(5, peak.P95TurnaroundMinutes, 9);
        Assert.Equal(5, peak.MeanTurnaroundMinutes, 9);
        var mean = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.FixedMean, service: 300, days: 2));
        Assert.True(mean.FixedReplicas < peak.FixedReplicas);
        Assert.True(mean.MaxQueue > 0);
        Assert.True(mean.TotalCost < peak.TotalCost);
    }

    [Theory]
    [InlineData(ScalingPolicy.KedaQueue)]
    [InlineData(ScalingPolicy.HpaQueueTime)]
    [InlineData(ScalingPolicy.FixedMean)]
    public void Cost_grows_with_load(ScalingPolicy policy)
    {
        var min = policy == ScalingPolicy.HpaQueueTime ? 1 : 0;
        var light = AutoscaleSimulator.Run(Options(Arrivals.Generate(ArrivalPattern.Diurnal, 50_000, 3, 5), policy, service: 200, days: 3, min: min));
        var heavy = AutoscaleSimulator.Run(Options(Arrivals.Generate(ArrivalPattern.Diurnal, 400_000, 3, 5), policy, service: 200, days: 3, min: min));
        Assert.True(heavy.TotalCost > light.TotalCost, $"{heavy.TotalCost} ≤ {light.TotalCost}");
        Assert.True(heavy.InstanceHours > light.InstanceHours);
    }

    [Fact]
    public void The_queue_time_policy_scales_up_when_the_oldest_slide_waits_past_its_target()
    {
        double[] burst = [.. Enumerable.Range(0, 40).Select(i => (double)i)];
        var hpa = AutoscaleSimulator.Run(Options(burst, ScalingPolicy.HpaQueueTime, service: 100, startup: 30, min: 1) with
        {
            Scaler = new ScalerSettings { QueueTimeTargetSeconds = 60 },
        });
        var one = AutoscaleSimulator.Run(Options(burst, ScalingPolicy.FixedMean, service: 100));
        Assert.True(hpa.MaxReplicas > 1);
        Assert.True(hpa.P95TurnaroundMinutes < one.P95TurnaroundMinutes);
        Assert.Throws<CostingConfigException>(() => AutoscaleSimulator.Run(Options(burst, ScalingPolicy.HpaQueueTime, min: 0)));
    }

    [Fact]
    public void The_hpa_formula_keeps_its_tolerance_and_rate_limit()
    {
        Assert.Equal(4, ScalerMath.Desired(4, 1.05, 1, 0.1));   // within tolerance: unchanged
        Assert.Equal(6, ScalerMath.Desired(4, 1.5, 1, 0.1));    // ceil(4 × 1.5)
        Assert.Equal(2, ScalerMath.Desired(4, 0.3, 1, 0.1));    // ceil(1.2)
        Assert.Equal(0, ScalerMath.Desired(4, 0, 1, 0.1));
        Assert.Equal(5, ScalerMath.ScaleUpLimit(1, new ScalerSettings()));   // +4 pods beats +100 %
        Assert.Equal(20, ScalerMath.ScaleUpLimit(10, new ScalerSettings())); // +100 % beats +4 pods
    }

    [Fact]
    public void Arrivals_are_deterministic_per_seed_and_follow_their_pattern()
    {
        Assert.Equal(Arrivals.Generate(ArrivalPattern.Flat, 365_000, 10, 1), Arrivals.Generate(ArrivalPattern.Flat, 365_000, 10, 1));
        Assert.NotEqual(Arrivals.Generate(ArrivalPattern.Flat, 365_000, 10, 1), Arrivals.Generate(ArrivalPattern.Flat, 365_000, 10, 2));
        foreach (var p in Enum.GetValues<ArrivalPattern>())
        {
            var a = Arrivals.Generate(p, 365_000, 10, 1); // 10 000 expected
            Assert.InRange(a.Length, 9_000, 11_000);
            Assert.True(a.Zip(a.Skip(1)).All(x => x.First <= x.Second), $"{p}: sorted");
            Assert.True(a[^1] < 10 * 86400);
        }
        var diurnal = Arrivals.Generate(ArrivalPattern.Diurnal, 3_650_000, 10, 1);
        var working = diurnal.Count(t => t % 86400 / 3600 is >= 8 and < 18) / (double)diurnal.Length;
        Assert.InRange(working, 0.78, 0.82);
    }

    [Fact]
    public void An_arrival_trace_round_trips()
    {
        var arrivals = Arrivals.Generate(ArrivalPattern.Bursty, 100_000, 2, 11);
        using var writer = new StringWriter();
        ArrivalTrace.Write(writer, arrivals);
        var back = ArrivalTrace.Read(new StringReader(writer.ToString()), "t.txt");
        Assert.Equal(arrivals, back);
        var a = AutoscaleSimulator.Run(Options(arrivals, ScalingPolicy.KedaQueue, days: 2));
        var b = AutoscaleSimulator.Run(Options(back, ScalingPolicy.KedaQueue, days: 2));
        Assert.Equal(a.TotalCost, b.TotalCost);
        Assert.Equal(a.P95TurnaroundMinutes, b.P95TurnaroundMinutes);

        var bad = Assert.Throws<CostingConfigException>(() => ArrivalTrace.Read(new StringReader("# c\n1\n5\n3\n"), "t.txt"));
        Assert.Contains("t.txt: line 4", bad.Message);
        Assert.Contains("line 2", Assert.Throws<CostingConfigException>(() => ArrivalTrace.Read(new StringReader("1\nabc\n"), "t.txt")).Message);
    }
}
