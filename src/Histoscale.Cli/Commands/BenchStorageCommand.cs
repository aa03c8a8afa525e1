using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Storage;
using Histoscale.Benchmarks.Storage;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale bench storage SLIDE [--pattern pipeline|viewer] [--strategy NAME[,k=v..]|all] [--emulate CLASS|all] [--json]</c>:
/// reads a slide through data-loading strategies and reports MP/s, requests, read amplification and time to first
/// tile. SLIDE is a store URI or http(s) URL (the same strategies either way), or a local file read raw (no strategy) or behind an emulated storage class.
/// </summary>
public static class BenchStorageCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path, s3:// gs:// az:// URI or http(s):// URL" };
        var pattern = new Option<string>("--pattern") { DefaultValueFactory = _ => "pipeline", Description = "pipeline | viewer" };
        var strategy = new Option<string>("--strategy")
        {
            DefaultValueFactory = _ => StorageStrategy.Default.Name,
            Description = $"{string.Join(" | ", StorageStrategy.Presets.Select(p => p.Name))} | none (raw file) | all; overrides as NAME,block=64k,gap=1m,concurrency=8,head=2m,cache=512m,disk=DIR",
        };
        var emulate = new Option<string?>("--emulate") { Description = $"Local file behind an emulated storage class: {string.Join(" | ", StorageClass.Presets.Select(c => c.Name))} | all" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "Decode threads (pipeline pattern)" };
        var level = new Option<int>("--level") { DefaultValueFactory = _ => 0, Description = "Level the pipeline pattern reads" };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 20, Description = "Stop each run after this long" };
        var json = new Option<bool>("--json") { Description = "Print JSON (an array of runs)" };
        var command = new Command("storage", "Measure data-loading strategies against a store or an emulated storage class")
        {
            slideArg, pattern, strategy, emulate, threads, level, seconds, json,
        };
        command.SetAction((ParseResult r) =>
        {
            var options = new StorageBenchOptions
            {
                Storage = HostContext.FromEnvironment().Storage,
                Pattern = r.GetValue(pattern) switch
                {
                    "pipeline" => AccessPattern.Pipeline,
                    "viewer" => AccessPattern.Viewer,
                    var p => throw new InputException($"--pattern {p}: expected pipeline or viewer"),
                },
                Threads = r.GetValue(threads) is var n and >= 1 and <= 256 ? n : throw new InputException("--threads must be between 1 and 256"),
                Level = r.GetValue(level),
                MaxDuration = TimeSpan.FromSeconds(r.GetValue(seconds)),
            };
            var strategies = Strategies(r.GetValue(strategy)!);
            if (StorageBenchmark.IsRemote(r.GetValue(slideArg)!) && strategies.Count > 1)
            {
                strategies.Remove(null); // a remote slide has no raw file to compare with; "direct" is its baseline
            }
            var classes = Classes(r.GetValue(emulate));
            var results = new List<StorageBenchResult>();
            var o = r.InvocationConfiguration.Output;
            foreach (var cls in classes)
            {
                foreach (var s in strategies)
                {
                    var result = StorageBenchmark.Run(r.GetValue(slideArg)!, s, cls, options);
                    results.Add(result);
                    if (!r.GetValue(json))
                    {
                        o.WriteLine(Line(result));
                    }
                }
            }
            if (r.GetValue(json))
            {
                o.WriteLine(JsonSerializer.Serialize(results, CliJson.Indented));
            }
            return 0;
        });
        return command;
    }

    private static List<StorageStrategy?> Strategies(string spec)
    {
        try
        {
            return spec switch
            {
                "all" => [null, .. StorageStrategy.Presets],
                "none" => [null],
                _ => [StorageStrategy.Parse(spec)],
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            throw new InputException($"--strategy {spec}: {ex.Message}");
        }
    }

    private static List<StorageClass?> Classes(string? spec)
    {
        try
        {
            return spec switch
            {
                null => [null],
                "all" => [null, .. StorageClass.Presets],
                "none" or "local-disk" => [null],
                _ => [StorageClass.Parse(spec)],
            };
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"--emulate {spec}: {ex.Message}");
        }
    }

    private static string Line(StorageBenchResult x) => string.Format(CultureInfo.InvariantCulture,
        "class={0} strategy={1} pattern={2} tiles={3} MP/s={4:F1} requests={5} fetched={6:F1}MB needed={7:F1}MB amplification={8:F2} open={9:F0}ms firstTile={10:F0}ms{11}{12}",
        x.StorageClass, x.Strategy, x.Pattern, x.Tiles, x.MegapixelsPerSecond, x.Requests, x.BytesFetched / 1e6, x.BytesNeeded / 1e6, x.ReadAmplification,
        x.OpenMs, x.TimeToFirstTileMs, x.ViewportMeanMs is { } m ? string.Format(CultureInfo.InvariantCulture, " viewport={0:F0}ms p95={1:F0}ms", m, x.ViewportP95Ms) : "",
        x.Complete ? "" : " (stopped at --seconds)");
}
