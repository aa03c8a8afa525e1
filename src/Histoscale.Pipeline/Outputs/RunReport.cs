using System.Reflection;
using System.Text.Json;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Runs;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// <c>run.json</c>: the model (name, version, file, input/output, Histoscale parameters), the run's parameters,
/// versions, and per slide: status, tiles, seconds, tiles/s, MP/s, level and µm/px used, per-stage seconds
/// (summed over threads), the files written, the heatmap's registration record and, for a slide run again rather
/// than skipped or resumed, why (rerunReason); plus totals. Rewritten atomically after every slide.
/// </summary>
internal sealed class RunReport(string path, ModelDescription model, RunOptions options, string settings, int tileSize)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // A file for people and tools, never embedded in HTML: keep quotes and arrows in messages readable
        // ("content changed: ETag \"a\" → \"b\"") rather than \u0022 and \u2192.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly DateTime _started = DateTime.UtcNow;

    public string Path { get; } = path;

    public void Write(IReadOnlyList<SlideSummary> slides, int slideCount)
    {
        var p = model.Parameters;
        var ran = slides.Where(s => s.Status == SlideSummary.Completed).ToList();
        var seconds = ran.Sum(s => s.Seconds);
        var tiles = ran.Sum(s => s.TilesRun);
        var document = new Dictionary<string, object?>
        {
            ["startedUtc"] = _started.ToString("O"),
            ["updatedUtc"] = DateTime.UtcNow.ToString("O"),
            ["versions"] = new Dictionary<string, object?>
            {
                ["histoscale"] = typeof(RunReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                    ?? typeof(RunReport).Assembly.GetName().Version?.ToString(),
                ["dotnet"] = Environment.Version.ToString(),
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            },
            ["environment"] = options.Environment,
            ["model"] = new Dictionary<string, object?>
            {
                ["name"] = model.Name,
                ["version"] = model.Version,
                ["file"] = model.ModelPath,
                ["config"] = model.ConfigPath,
                ["maxBatchSize"] = model.MaxBatchSize,
                ["input"] = new { name = model.ImageInput.Name, datatype = model.ImageInput.DataType.ToKServeName(), shape = model.ImageInput.Shape, layout = model.Layout.ToString().ToUpperInvariant() },
                ["output"] = new { name = model.PrimaryOutput.Name, datatype = model.PrimaryOutput.DataType.ToKServeName(), shape = model.PrimaryOutput.Shape, kind = HistoscaleParameters.OutputKindName(p.OutputKind) },
                ["tileSize"] = tileSize,
                ["mpp"] = p.Mpp,
                ["mean"] = p.Mean,
                ["std"] = p.Std,
                ["channelOrder"] = p.ChannelOrder.ToString().ToUpperInvariant(),
                ["classes"] = p.ClassNames,
                ["classColors"] = p.ClassColors,
            },
            ["parameters"] = new Dictionary<string, object?>
            {
                ["tileSize"] = tileSize,
                ["targetMpp"] = options.TargetMpp ?? p.Mpp ?? Planning.TilePlanOptions.DefaultMpp,
                ["overlap"] = options.Overlap,
                ["tissueDetection"] = options.DetectTissue,
                ["minTissue"] = options.DetectTissue ? options.MinTissue : 0,
                ["threshold"] = options.Threshold,
                ["batchSize"] = options.Pipeline.BatchSize,
                ["readWorkers"] = options.Pipeline.EffectiveReadWorkers,
                ["prefetchBatches"] = options.Pipeline.PrefetchBatches,
                ["settingsKey"] = settings,
            },
            ["slidesTotal"] = slideCount,
            ["tiles"] = tiles,
            ["seconds"] = Math.Round(seconds, 3),
            ["tilesPerSecond"] = seconds > 0 ? Math.Round(tiles / seconds, 2) : 0,
            ["megapixelsPerSecond"] = seconds > 0 ? Math.Round(tiles * (double)tileSize * tileSize / 1e6 / seconds, 2) : 0,
            // The process's runtime overheads so far, to tell start-up costs from the pipeline's own.
            ["runtime"] = new Dictionary<string, object?>
            {
                ["jitSeconds"] = Math.Round(System.Runtime.JitInfo.GetCompilationTime().TotalSeconds, 3),
                ["jitMethods"] = System.Runtime.JitInfo.GetCompiledMethodCount(),
                ["gcCollections"] = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
                ["gcPauseSeconds"] = Math.Round(GC.GetTotalPauseDuration().TotalSeconds, 3),
                ["allocatedMegabytes"] = Math.Round(GC.GetTotalAllocatedBytes() / 1e6, 1),
            },
            ["slides"] = slides,
        };
        if (options.Stain is { } stain)
        {
            ((Dictionary<string, object?>)document["parameters"]!)["stainNormalize"] = new Dictionary<string, object?>
            {
                ["method"] = Histoscale.Stain.StainMethods.Name(stain.Method),
                ["targetSource"] = stain.TargetSource,
                ["target"] = SlideStainSummary.Of(stain.Target),
                ["odThreshold"] = stain.Options.OdThreshold,
                ["backgroundOd"] = stain.Options.BackgroundOd,
            };
        }
        AtomicFile.WriteAllText(Path, JsonSerializer.Serialize(document, Json));
    }
}
