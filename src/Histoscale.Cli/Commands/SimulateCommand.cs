using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Costing.Map;
using Histoscale.Costing.Prices;
using Histoscale.Costing.Simulation;
using Histoscale.Inference.Models;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale simulate</c>: the autoscaling loop, simulated (arrivals, queue, replicas with start-up, the scaler).</summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var pattern = new Option<string>("--pattern") { Description = "flat, diurnal, bursty or trace:FILE (seconds from the start, one arrival per line)", DefaultValueFactory = _ => "flat" };
        var days = new Option<double>("--days") { Description = "Days of arrivals", DefaultValueFactory = _ => 7 };
        var slidesPerYear = new Option<double>("--slides-per-year") { Description = "Slides a year (the generated patterns' mean rate)", DefaultValueFactory = _ => 1_500_000 };
        var asset = new Option<string>("--asset") { Description = "Asset id of the price table (histoscale cost --list-assets)", Required = true };
        var tilesPerSecond = new Option<double?>("--tiles-per-second") { Description = "Tiles/s of one replica (default: the asset's published GPU figure)" };
        var measure = new Option<bool>("--measure") { Description = "Measure the model here (model-only) and scale per vCPU to the asset (needs --model)" };
        var model = new Option<string?>("--model") { Description = "Model for --measure" };
        var tilesPerSlide = new Option<double>("--tiles-per-slide") { Description = "Model tiles per slide", Required = true };
        var policy = new Option<string>("--policy") { Description = "keda-queue, hpa-queue-time, fixed-peak or fixed-mean", DefaultValueFactory = _ => "keda-queue" };
        var minReplicas = new Option<int?>("--min-replicas") { Description = "Fewest replicas (default 0 for keda-queue, 1 otherwise)" };
        var maxReplicas = new Option<int>("--max-replicas") { Description = "Most replicas", DefaultValueFactory = _ => 1000 };
        var startup = new Option<double?>("--startup-seconds") { Description = "Seconds to a ready replica (default per asset kind: serverless 45, CPU VM 120, GPU VM 300)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated arrivals", DefaultValueFactory = _ => 1 };
        var turnaround = new Option<double>("--turnaround-minutes") { Description = "Turnaround target the p95 is compared with", DefaultValueFactory = _ => 60 };
        var polling = new Option<double>("--polling-interval") { Description = "KEDA pollingInterval, seconds", DefaultValueFactory = _ => 30 };
        var cooldown = new Option<double>("--cooldown") { Description = "KEDA cooldownPeriod, seconds", DefaultValueFactory = _ => 300 };
        var queueTarget = new Option<double>("--queue-target") { Description = "keda-queue: slides per replica", DefaultValueFactory = _ => 1 };
        var queueTime = new Option<double>("--queue-time-target") { Description = "hpa-queue-time: seconds the oldest waiting slide may wait", DefaultValueFactory = _ => 300 };
        var writeTrace = new Option<string?>("--write-trace") { Description = "Also write the arrivals as a trace file" };
        var json = new Option<bool>("--json") { Description = "Print a JSON object" };
        var plot = new Option<string?>("--plot") { Description = "Also write the timeline as a PNG (arrivals, queue, replicas, cost per hour)" };
        var prices = CostCommand.PricesOption();

        var command = new Command("simulate", "Simulate the autoscaling loop: turnaround and cost of a policy on an asset")
        {
            pattern, days, slidesPerYear, asset, tilesPerSecond, measure, model, tilesPerSlide, policy, minReplicas, maxReplicas, startup, seed, turnaround,
            polling, cooldown, queueTarget, queueTime, writeTrace, json, prices, plot,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var table = PriceTable.Load(r.GetValue(prices)!);
            var a = table.Asset(r.GetValue(asset)!);
            var tiles = r.GetValue(tilesPerSlide);
            if (!(tiles > 0) || !(r.GetValue(days) > 0))
            {
                throw new InputException("--tiles-per-slide and --days must be positive");
            }
            var pol = ParsePolicy(r.GetValue(policy)!);
            var (tps, source) = await ThroughputAsync(r, a, tilesPerSecond, measure, model, ct);

            var p = r.GetValue(pattern)!;
            double[] arrivals;
            if (p.StartsWith("trace:", StringComparison.Ordinal))
            {
                arrivals = ArrivalTrace.Load(p["trace:".Length..]);
            }
            else
            {
                arrivals = Arrivals.Generate(ParsePattern(p), r.GetValue(slidesPerYear), r.GetValue(days), r.GetValue(seed));
            }
            if (arrivals.Length > 0 && arrivals[^1] >= r.GetValue(days) * 86400)
            {
                throw new InputException($"the trace's last arrival ({arrivals[^1]:0} s) is after --days {r.GetValue(days)}; raise --days");
            }
            if (r.GetValue(writeTrace) is { } tracePath)
            {
                using var w = new StreamWriter(tracePath);
                ArrivalTrace.Write(w, arrivals);
            }
            var result = AutoscaleSimulator.Run(new SimulationOptions
            {
                Arrivals = arrivals,
                Days = r.GetValue(days),
                ServiceSeconds = tiles / tps,
                PricePerHour = a.PricePerHour,
                Billing = table.BillingOf(a),
                StartupSeconds = r.GetValue(startup) ?? a.StartupSeconds ?? AssetKinds.DefaultStartupSeconds(a.Kind),
                Policy = pol,
                MinReplicas = r.GetValue(minReplicas) ?? (pol == ScalingPolicy.KedaQueue ? 0 : 1),
                MaxReplicas = r.GetValue(maxReplicas),
                TurnaroundTargetMinutes = r.GetValue(turnaround),
                Scaler = new ScalerSettings
                {
                    PollingIntervalSeconds = r.GetValue(polling),
                    CooldownSeconds = r.GetValue(cooldown),
                    QueueTarget = r.GetValue(queueTarget),
                    QueueTimeTargetSeconds = r.GetValue(queueTime),
                },
            });
            if (r.GetValue(plot) is { } plotPath)
            {
                Plots.CostPlots.WriteTimeline(plotPath, result, $"{a.Id}, {r.GetValue(policy)}, {p}");
            }
            var output = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    asset = a.Id,
                    policy = r.GetValue(policy),
                    pattern = p,
                    days = r.GetValue(days),
                    tilesPerSlide = tiles,
                    tilesPerSecond = tps,
                    throughputSource = source,
                    serviceSecondsPerSlide = tiles / tps,
                    pricePerHour = a.PricePerHour,
                    priceTableDate = table.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    result.Slides,
                    result.Completed,
                    result.ArrivalsPerHour,
                    result.CostPerMonth,
                    result.TotalCost,
                    result.InstanceHours,
                    result.P50TurnaroundMinutes,
                    result.P95TurnaroundMinutes,
                    result.MeanTurnaroundMinutes,
                    result.MeanInSystem,
                    result.MeanReplicas,
                    result.MaxReplicas,
                    result.MaxQueue,
                    result.SimulatedHours,
                    result.FixedReplicas,
                    result.TurnaroundTargetMinutes,
                    result.TurnaroundMet,
                    result.PerDay,
                }, CliJson.Indented));
                return CliRunner.Ok;
            }
            var inv = CultureInfo.InvariantCulture;
            output.WriteLine(string.Create(inv, $"{a.Id} ({tps:0.#} tiles/s, {source}; {tiles / tps:0.#} s/slide), {r.GetValue(policy)}, {p}, {r.GetValue(days):0.#} days: {result.Slides:N0} slides ({result.ArrivalsPerHour:0.#}/h)"));
            var fixedNote = result.FixedReplicas is { } f ? $" (fixed {f})" : "";
            output.WriteLine(string.Create(inv, $"cost ${result.CostPerMonth:N0}/month ({result.InstanceHours:N0} instance-hours); replicas mean {result.MeanReplicas:0.##}, max {result.MaxReplicas}{fixedNote}"));
            output.WriteLine(string.Create(inv, $"turnaround p50 {result.P50TurnaroundMinutes:0.#} min, p95 {result.P95TurnaroundMinutes:0.#} min, mean {result.MeanTurnaroundMinutes:0.#} min; mean in system {result.MeanInSystem:0.##}; max queue {result.MaxQueue}"));
            output.WriteLine(result.TurnaroundMet
                ? string.Create(inv, $"turnaround target {result.TurnaroundTargetMinutes:0} min met (p95)")
                : string.Create(inv, $"turnaround target {result.TurnaroundTargetMinutes:0} min NOT met: p95 is {result.P95TurnaroundMinutes:0.#} min"));
            return CliRunner.Ok;
        });
        return command;
    }

    private static async Task<(double TilesPerSecond, string Source)> ThroughputAsync(ParseResult r, AssetPrice a, Option<double?> tilesPerSecond, Option<bool> measure, Option<string?> model, CancellationToken ct)
    {
        if (r.GetValue(tilesPerSecond) is { } given)
        {
            return given > 0 ? (given, ThroughputSource.Given) : throw new InputException("--tiles-per-second must be positive");
        }
        CostInputs inputs = new() { TilesPerSlide = 1, SlidesPerYear = 1 };
        if (r.GetValue(measure))
        {
            var path = r.GetValue(model) ?? throw new InputException("--measure needs --model");
            var description = ModelDescription.Load(path, new ModelOverrides { MaxBatchSize = 32 });
            var m = await CostMeasurement.RunAsync(description, null, 32, 5, HostContext.FromEnvironment().Slides, ct);
            inputs = inputs with { MeasuredTilesPerSecondPerVcpu = m.PerVcpu, MeasuredArch = m.Arch };
        }
        var (tps, source) = CostMap.Throughput(a, inputs);
        return tps is { } t ? (t, source) : throw new InputException($"no throughput for '{a.Id}': give --tiles-per-second N or --measure --model M");
    }

    internal static ScalingPolicy ParsePolicy(string s) => s switch
    {
        "keda-queue" => ScalingPolicy.KedaQueue,
        "hpa-queue-time" => ScalingPolicy.HpaQueueTime,
        "fixed-peak" => ScalingPolicy.FixedPeak,
        "fixed-mean" => ScalingPolicy.FixedMean,
        _ => throw new InputException($"--policy '{s}': expected keda-queue, hpa-queue-time, fixed-peak or fixed-mean"),
    };

    internal static ArrivalPattern ParsePattern(string s) => s switch
    {
        "flat" => ArrivalPattern.Flat,
        "diurnal" => ArrivalPattern.Diurnal,
        "bursty" => ArrivalPattern.Bursty,
        _ => throw new InputException($"--pattern '{s}': expected flat, diurnal, bursty or trace:FILE"),
    };
}
