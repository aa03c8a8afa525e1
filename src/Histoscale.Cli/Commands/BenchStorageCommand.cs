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
/// A DICOMweb series URL (<c>…/studies/{S}/series/{S}</c>) is read with <c>--strategy prefetch|multiframe|frame|all</c>
/// (prefetch hints honoured; on-demand multi-frame requests only; one frame per request), optionally against
/// <c>--local DIR</c>, the same series as a local DICOM folder, in <c>--rounds N</c> interleaved rounds, and ends
/// with the frames/s ratios of the modes (medians over the rounds).
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
        var local = new Option<string?>("--local") { Description = "DICOMweb series only: the same series as a local DICOM folder, read raw as the baseline" };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 1, Description = "DICOMweb series only: interleaved rounds of every mode (ratios use the medians)" };
        var command = new Command("storage", "Measure data-loading strategies against a store or an emulated storage class, or DICOMweb frame fetching against local files")
        {
            slideArg, pattern, strategy, emulate, threads, level, seconds, json, local, rounds,
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
            if (r.GetValue(emulate) is { } emulated && StorageBenchmark.IsRemote(r.GetValue(slideArg)!))
            {
                throw new InputException($"--emulate {emulated}: storage classes are emulated in front of a local file; {r.GetValue(slideArg)} is read from its {(StorageBenchmark.IsDicomWeb(r.GetValue(slideArg)!) ? "DICOMweb server (compare it with a local copy of the series with --local FOLDER)" : "store")}");
            }
            if (StorageBenchmark.IsDicomWeb(r.GetValue(slideArg)!))
            {
                return DicomWeb(r, r.GetValue(slideArg)!, r.GetValue(strategy)!, r.GetValue(local), r.GetValue(rounds), options, r.GetValue(json));
            }
            if (r.GetValue(local) is not null || r.GetValue(rounds) != 1)
            {
                throw new InputException("--local and --rounds are for DICOMweb series URLs (http(s)://HOST/PATH/studies/S/series/S)");
            }
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

    /// <summary>The DICOMweb runs: every mode (and the local folder) per round, then the ratios of the medians.</summary>
    private static int DicomWeb(ParseResult r, string url, string spec, string? folder, int rounds, StorageBenchOptions options, bool json)
    {
        DicomWebReadMode[] modes = spec switch
        {
            "all" => [DicomWebReadMode.Prefetch, DicomWebReadMode.MultiFrame, DicomWebReadMode.FrameAtATime],
            "prefetch" => [DicomWebReadMode.Prefetch],
            "multiframe" => [DicomWebReadMode.MultiFrame],
            "frame" => [DicomWebReadMode.FrameAtATime],
            _ => throw new InputException($"--strategy {spec}: a DICOMweb series is read with prefetch, multiframe, frame or all"),
        };
        if (rounds is < 1 or > 20)
        {
            throw new InputException("--rounds must be between 1 and 20");
        }
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new InputException($"--local {folder}: not a folder (the same series as local DICOM files)");
        }
        var o = r.InvocationConfiguration.Output;
        var results = new List<StorageBenchResult>();
        void Record(StorageBenchResult result)
        {
            results.Add(result);
            if (!json)
            {
                o.WriteLine(DicomLine(result));
            }
        }
        for (var round = 0; round < rounds; round++)
        {
            if (folder is not null)
            {
                Record(StorageBenchmark.RunFolder(folder, options));
            }
            foreach (var mode in modes)
            {
                Record(StorageBenchmark.RunDicomWeb(url, mode, options));
            }
        }
        if (json)
        {
            o.WriteLine(JsonSerializer.Serialize(results, CliJson.Indented));
            return 0;
        }
        var median = results.GroupBy(x => x.Strategy).ToDictionary(g => g.Key, g => Median(g.Select(x => x.Tiles / x.Seconds)));
        var names = results.Select(x => x.Strategy).Distinct().ToList();
        if (names.Count > 1)
        {
            static string Short(string name) => name.Replace("dicomweb-", "", StringComparison.Ordinal).Replace("none (raw files)", "local", StringComparison.Ordinal);
            var pairs = new List<string>();
            for (var i = 0; i < names.Count; i++)
            {
                for (var j = 0; j < names.Count; j++)
                {
                    if (i != j && (names[j] == "none (raw files)" || (names[i] == StorageBenchmark.DicomWebModeName(DicomWebReadMode.Prefetch) && names[j] != "none (raw files)")))
                    {
                        pairs.Add(string.Format(CultureInfo.InvariantCulture, "{0}/{1}={2:F3}", Short(names[i]), Short(names[j]), median[names[i]] / median[names[j]]));
                    }
                }
            }
            o.WriteLine(string.Format(CultureInfo.InvariantCulture, "ratios of median frames/s over {0} round(s): {1}", rounds, string.Join(" ", pairs)));
        }
        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string DicomLine(StorageBenchResult x) => string.Format(CultureInfo.InvariantCulture,
        "class={0} mode={1} pattern={2} tiles={3} frames/s={4:F1} MP/s={5:F1} requests={6} tiles/request={7:F1} fetched={8:F1}MB open={9:F0}ms firstTile={10:F0}ms{11}",
        x.StorageClass, x.Strategy, x.Pattern, x.Tiles, x.Tiles / x.Seconds, x.MegapixelsPerSecond, x.Requests, x.Requests == 0 ? 0 : (double)x.Tiles / x.Requests,
        x.BytesFetched / 1e6, x.OpenMs, x.TimeToFirstTileMs, x.Complete ? "" : " (stopped at --seconds)");

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
