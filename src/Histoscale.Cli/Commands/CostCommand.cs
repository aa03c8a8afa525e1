using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Costing.Map;
using Histoscale.Costing.Prices;
using Histoscale.Inference.Models;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale cost</c>: the cost:benefit map of cloud asset classes (compute rows and storage lines).</summary>
public static class CostCommand
{
    /// <summary>3.5 PB a year over 1.5 M slides: the reference lab's mean bytes per slide.</summary>
    public const double DefaultBytesPerSlide = 3.5e15 / 1.5e6;

    public static Option<string> PricesOption() => new("--prices")
    {
        Description = "Price table (YAML)",
        DefaultValueFactory = _ => Path.Combine(AppContext.BaseDirectory, "data", "prices.yaml"),
    };

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model: repository model directory (REPO/NAME) or a .onnx file" };
        var measure = new Option<bool>("--measure") { Description = "Measure tiles/s on this machine (model-only, and the pipeline on --slide) and scale per vCPU" };
        var slidesPerYear = new Option<double>("--slides-per-year") { Description = "Slides a year", DefaultValueFactory = _ => 1_500_000 };
        var tilesPerSlide = new Option<double?>("--tiles-per-slide") { Description = "Model tiles per slide" };
        var slide = new Option<string?>("--slide") { Description = "A representative slide: tiles per slide from its plan (and its size per slide, and the pipeline with --measure)" };
        var tileSize = new Option<int?>("--tile-size") { Description = "Tile size for models with variable input height/width" };
        var json = new Option<bool>("--json") { Description = "Print a JSON object (rows, storage, priceTableDate, slide.tilesPerSlide)" };
        var listAssets = new Option<bool>("--list-assets") { Description = "List the asset ids of the price table and exit" };
        var prices = PricesOption();
        var given = new Option<string[]>("--tiles-per-second") { Description = "ID=N: tiles/s of one instance of an asset (repeatable; wins over measured/published)", AllowMultipleArgumentsPerToken = true };
        var gpuFactor = new Option<double>("--gpu-factor") { Description = "Factor on published GPU figures (ResNet-50 INT8); rows become 'scaled'", DefaultValueFactory = _ => 1 };
        var bytesPerSlide = new Option<double?>("--bytes-per-slide") { Description = "Stored bytes per slide (default: --slide's file size, else 3.5 PB / 1.5 M)" };
        var storedBytes = new Option<double?>("--stored-bytes") { Description = "Bytes kept in all (default: one year of slides)" };
        var hotDays = new Option<double>("--hot-days") { Description = "Days a slide stays hot before the lifecycle moves it", DefaultValueFactory = _ => 30 };
        var turnaround = new Option<double>("--turnaround-minutes") { Description = "Turnaround one instance must meet per slide for the recommendation", DefaultValueFactory = _ => 60 };
        var batch = new Option<int>("--batch") { Description = "Tiles per batch when measuring", DefaultValueFactory = _ => 32 };
        var seconds = new Option<double>("--measure-seconds") { Description = "Model-only measuring time", DefaultValueFactory = _ => 10 };
        var plot = new Option<string?>("--plot") { Description = "Also write the map as a PNG ($/slide vs slides/hour per asset; storage vs compute per year)" };

        var command = new Command("cost", "Cost:benefit map of cloud asset classes: $/slide, slides/hour and $/year per asset, and storage per lifecycle")
        {
            model, measure, slidesPerYear, tilesPerSlide, slide, tileSize, json, listAssets, prices, given, gpuFactor, bytesPerSlide, storedBytes, hotDays, turnaround, batch, seconds, plot,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var output = r.InvocationConfiguration.Output;
            var table = PriceTable.Load(r.GetValue(prices)!);
            if (r.GetValue(listAssets))
            {
                ListAssets(table, output, r.GetValue(json));
                return CliRunner.Ok;
            }
            var modelPath = r.GetValue(model) ?? throw new InputException("--model is required (or --list-assets)");
            var slidePath = r.GetValue(slide);
            var tiles = r.GetValue(tilesPerSlide);
            if (tiles is not null && slidePath is not null)
            {
                throw new InputException("give --tiles-per-slide or --slide, not both");
            }
            if (tiles is null && slidePath is null)
            {
                throw new InputException("give --tiles-per-slide N or --slide SLIDE (tiles per slide is what every row divides by)");
            }
            if (r.GetValue(batch) < 1 || !(r.GetValue(seconds) > 0))
            {
                throw new InputException("--batch must be at least 1 and --measure-seconds positive");
            }
            var description = ModelDescription.Load(modelPath, new ModelOverrides { MaxBatchSize = r.GetValue(batch), TileSize = r.GetValue(tileSize) });
            var host = HostContext.FromEnvironment();
            var tilesSource = "given";
            if (slidePath is not null)
            {
                tiles = CostMeasurement.TilesPerSlide(description, slidePath, host.Slides);
                tilesSource = "planned";
                if (tiles == 0)
                {
                    throw new InputException($"{slidePath}: the plan has no tiles with tissue; give --tiles-per-slide");
                }
            }
            var bytes = r.GetValue(bytesPerSlide) ?? (slidePath is not null && File.Exists(slidePath) ? new FileInfo(slidePath).Length : DefaultBytesPerSlide);

            CostMeasurement? measured = null;
            if (r.GetValue(measure))
            {
                measured = await CostMeasurement.RunAsync(description, slidePath, r.GetValue(batch), r.GetValue(seconds), host.Slides, ct);
            }
            var inputs = new CostInputs
            {
                TilesPerSlide = tiles!.Value,
                SlidesPerYear = r.GetValue(slidesPerYear),
                MeasuredTilesPerSecondPerVcpu = measured?.PerVcpu,
                MeasuredArch = measured?.Arch ?? CostMeasurement.MachineArch,
                GivenTilesPerSecond = ParseGiven(r.GetValue(given) ?? []),
                GpuFactor = r.GetValue(gpuFactor),
            };
            var rows = CostMap.Compute(table, inputs);
            var storage = StorageCost.Compute(table, new StorageInputs
            {
                SlidesPerYear = inputs.SlidesPerYear,
                BytesPerSlide = bytes,
                StoredBytes = r.GetValue(storedBytes),
                HotDays = r.GetValue(hotDays),
            });
            var target = TimeSpan.FromMinutes(r.GetValue(turnaround));
            var cheapest = CostMap.CheapestMeeting(rows, inputs.TilesPerSlide, target);
            if (r.GetValue(plot) is { } plotPath)
            {
                Plots.CostPlots.WriteMap(plotPath, rows, storage);
            }
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    priceTableDate = table.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    currency = table.Currency,
                    model = description.Name,
                    slide = new { path = slidePath, tilesPerSlide = inputs.TilesPerSlide, tilesPerSlideSource = tilesSource, bytesPerSlide = bytes },
                    slidesPerYear = inputs.SlidesPerYear,
                    measurement = measured is null ? null : new
                    {
                        modelTilesPerSecond = Math.Round(measured.ModelTilesPerSecond, 2),
                        pipelineTilesPerSecond = measured.PipelineTilesPerSecond is { } p ? Math.Round(p, 2) : (double?)null,
                        cores = measured.Cores,
                        arch = measured.Arch,
                        tilesPerSecondPerVcpu = measured.PerVcpu,
                    },
                    rows,
                    storage,
                    turnaroundMinutes = target.TotalMinutes,
                    cheapestMeetingTurnaround = cheapest?.Id,
                }, CliJson.Indented));
                return CliRunner.Ok;
            }
            PrintText(output, table, description.Name, inputs, tilesSource, measured, rows, storage, cheapest, target);
            return CliRunner.Ok;
        });
        return command;
    }

    internal static Dictionary<string, double> ParseGiven(IEnumerable<string> values)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(v.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !(n > 0))
            {
                throw new InputException($"--tiles-per-second '{v}': expected ID=N with N > 0 (e.g. aws-g5-xlarge-a10g=850)");
            }
            result[v[..eq]] = n;
        }
        return result;
    }

    private static void ListAssets(PriceTable table, TextWriter output, bool json)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                priceTableDate = table.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                assets = table.Assets.Select(a => new { id = a.Id, cloud = a.Cloud, assetClass = a.AssetClass, instanceType = a.InstanceType, accelerator = a.Accelerator, vcpus = a.Vcpus, arch = a.Arch, pricePerHour = a.PricePerHour, spot = a.Spot, region = a.Region, source = a.Source, read = a.Read.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }),
                storage = table.Storage.Select(s => new { id = s.Id, cloud = s.Cloud, tier = s.Tier, name = s.Name, perGbMonth = s.PerGbMonth, source = s.Source }),
            }, CliJson.Indented));
            return;
        }
        output.WriteLine($"price table of {table.Date:yyyy-MM-dd} ({table.Currency})");
        foreach (var a in table.Assets)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a.Id,-30} {a.Cloud,-5} {a.AssetClass,-14} {a.InstanceType,-45} {a.PricePerHour,9:0.####}/h{(a.Spot ? " spot" : "")}"));
        }
        foreach (var s in table.Storage)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Id,-30} {s.Cloud,-5} storage-{s.Tier,-6} {s.Name,-45} {s.PerGbMonth,9:0.#####}/GB-month"));
        }
    }

    private static void PrintText(TextWriter o, PriceTable table, string model, CostInputs inputs, string tilesSource, CostMeasurement? m, IReadOnlyList<CostRow> rows,
        IReadOnlyList<StorageLine> storage, CostRow? cheapest, TimeSpan target)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"model {model}; {inputs.TilesPerSlide:0} tiles/slide ({tilesSource}); {inputs.SlidesPerYear:N0} slides/year; prices of {table.Date:yyyy-MM-dd} ({table.Currency})"));
        if (m is not null)
        {
            var pipeline = m.PipelineTilesPerSecond is { } p ? string.Create(inv, $", pipeline {p:0.#} tiles/s") : "";
            o.WriteLine(string.Create(inv, $"measured here ({m.Cores} {m.Arch} cores): model-only {m.ModelTilesPerSecond:0.#} tiles/s{pipeline} → {m.PerVcpu:0.###} tiles/s per vCPU"));
        }
        o.WriteLine();
        o.WriteLine("cloud  assetClass      instanceType                                    accel  vcpus  $/hour  spot  tiles/s    source     $/slide    slides/h  $/year");
        foreach (var r in rows)
        {
            o.WriteLine(string.Create(inv,
                $"{r.Cloud,-6} {r.AssetClass,-15} {Trim(r.InstanceType, 47),-47} {r.Accelerator ?? "-",-6} {r.Vcpus,5} {r.PricePerHour,7:0.###}  {(r.Spot ? "yes" : "no"),-4} {Num(r.TilesPerSecond, "0.#"),10} {r.ThroughputSource,-10} {Num(r.DollarsPerSlide, "0.00000"),9} {Num(r.SlidesPerHour, "0.##"),9}  {Num(r.DollarsPerYear, "N0")}"));
        }
        o.WriteLine();
        o.WriteLine("storage (a year of keeping the archive)");
        foreach (var s in storage)
        {
            var read = s.FirstByteMs is { } ms
                ? string.Create(inv, $"{s.Loading} ({ms:0.#} ms first byte, {s.StreamMegabytesPerSecond:0} MB/s a stream)")
                : string.Create(inv, $"{s.Loading} ({s.RestoreHours:0} h before the first byte)");
            o.WriteLine(string.Create(inv, $"{s.Cloud,-6} {s.Lifecycle,-52} {s.StoredTB,9:N0} TB  ${s.DollarsPerYear,12:N0}/year  ${s.DollarsPerSlide:0.0000}/slide  read: {read}"));
        }
        o.WriteLine();
        o.WriteLine(cheapest is null
            ? string.Create(inv, $"no on-demand row with a known throughput finishes a slide within {target.TotalMinutes:0} minutes on one instance")
            : string.Create(inv, $"cheapest on-demand class finishing a slide within {target.TotalMinutes:0} minutes on one instance: {cheapest.Id} (${cheapest.DollarsPerSlide:0.00000}/slide, {cheapest.ThroughputSource})"));
    }

    private static string Num(double? v, string format) => v is { } d ? d.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
