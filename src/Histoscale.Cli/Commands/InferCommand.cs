using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Cli.Progress;
using Histoscale.Inference.Models;
using Histoscale.Inference;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.KServe;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Runs;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale infer SLIDE|DIR|GLOB|@manifest.txt ... --model M --out DIR</c>: runs a model over every tissue
/// tile of the slides. Exit codes: 0 every slide completed or skipped; 1 a slide failed (the others still ran);
/// 2 bad input found before any slide was read (model config, flags, unwritable --out); 130 interrupted (Ctrl-C):
/// the current slide's checkpoint is kept and a rerun resumes it.
/// </summary>
public static class InferCommand
{
    public const int Interrupted = 130;

    /// <summary>What an <c>infer</c> invocation asks for, parsed from flags (or built by <c>demo</c>).</summary>
    public sealed record Request
    {
        public required IReadOnlyList<string> Slides { get; init; }
        public required string Model { get; init; }
        public required string Out { get; init; }
        public int Batch { get; init; } = 32;
        public string Device { get; init; } = "cpu";

        /// <summary>CUDA/TensorRT provider settings (<c>--trt-fp16</c>, <c>--cuda-arena</c>...).</summary>
        public GpuProviderOptions Gpu { get; init; } = new();

        /// <summary><c>--io-binding</c>: null = auto (on for cuda/tensorrt).</summary>
        public bool? IoBinding { get; init; }
        public int? Instances { get; init; }
        public int? Threads { get; init; }
        public int? Workers { get; init; }
        public bool OrtSpinning { get; init; }
        public ModelOverrides Overrides { get; init; } = new();
        public bool NoTissue { get; init; }
        public double MinTissue { get; init; } = 0.1;
        public int Overlap { get; init; }
        public double Threshold { get; init; } = 0.5;

        /// <summary>Unreadable tiles a slide may have: a count ("3") or a percentage of its tiles ("1%").</summary>
        public string MaxBadTiles { get; init; } = "1%";
        public bool Json { get; init; }

        /// <summary>KServe v2 server (grpc://HOST:8001 or http://HOST:8000); null runs ONNX Runtime in-process.</summary>
        public string? Server { get; init; }

        public string? ModelVersion { get; init; }

        /// <summary>Requests in flight to the server.</summary>
        public int Concurrency { get; init; } = 4;

        /// <summary>--stain-normalize METHOD (null: tiles as scanned).</summary>
        public string? StainNormalize { get; init; }

        /// <summary>--stain-target target.json|SLIDE.</summary>
        public string? StainTarget { get; init; }

        /// <summary>Quality control first (<c>--qc</c>): tiles over blur, ink or folds are excluded; null = off.</summary>
        public Pipeline.Quality.QualityOptions? Quality { get; init; }

        /// <summary>Tensors through system shared memory registered with a server on this host (gRPC only).</summary>
        public bool SharedMemory { get; init; }

        /// <summary>A <c>--qc-*</c> threshold given without <c>--qc</c> (refused: it would silently do nothing).</summary>
        public string? QcFlagWithoutQc { get; init; }
    }

    public static Command Create()
    {
        var slides = new Argument<string[]>("slides") { Description = "Slides: files, folders, globs (dir/*.svs) or @manifest.txt", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string>("--model") { Description = "Model: repository model directory (REPO/NAME) or a .onnx file", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var batch = new Option<int>("--batch") { Description = "Tiles per batch", DefaultValueFactory = _ => 32 };
        var device = new DeviceFlags();
        var instances = new Option<int?>("--instances") { Description = "Parallel model instances (default: the config's instance_group count; on a 2–4 core CPU, one single-threaded instance per core)" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads per instance (default: cores / instances)" };
        var workers = new Option<int?>("--workers") { Description = "Read/decode/preprocess threads (default: one per core)" };
        var spin = new Option<bool>("--ort-spin") { Description = "Let ONNX Runtime threads spin while idle (lower latency, but steals CPU from decoding)" };
        var tile = new TileModelOptions("Tile size in pixels (models with variable input size, or to check the config)");
        var classes = new Option<string?>("--classes") { Description = "Class names a,b,c" };
        var noTissue = new Option<bool>("--no-tissue") { Description = "Run every tile, without tissue detection" };
        var minTissue = new Option<double>("--min-tissue") { Description = "Minimum tissue fraction of a tile", DefaultValueFactory = _ => 0.1 };
        var overlap = new Option<int>("--overlap") { Description = "Pixels shared by neighbouring tiles", DefaultValueFactory = _ => 0 };
        var threshold = new Option<double>("--threshold") { Description = "Score at or above which a region belongs to a class (GeoJSON, DSA)", DefaultValueFactory = _ => 0.5 };
        var maxBadTiles = new Option<string>("--max-bad-tiles") { Description = "Unreadable (corrupt) tiles a slide may have before it fails: a count, or a percentage of its tiles like 1%", DefaultValueFactory = _ => "1%" };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary {\"slides\":[...]} on stdout" };
        var server = new Option<string?>("--server") { Description = "Run the model on a KServe v2 server (ours or NVIDIA Triton): grpc://HOST:8001 or http://HOST:8000; --model is then the served model's name" };
        var modelVersion = new Option<string?>("--model-version") { Description = "Served model version (default: the server's choice)" };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight to the server", DefaultValueFactory = _ => 4 };
        var stain = new StainFlags();
        var qc = new Option<bool>("--qc") { Description = "Run quality control first: tiles over blur, pen or folds get status=excluded:KIND and stay out of maps and annotations (docs/qc.md)" };
        var qcFlags = new QcFlags();
        var sharedMemory = new Option<string>("--shared-memory")
        {
            Description = "With --server grpc://...: none (tensors in the messages) or system (through /dev/shm regions registered with a server on this host)",
            DefaultValueFactory = _ => "none",
        };
        sharedMemory.AcceptOnlyFromAmong("none", "system");

        var command = new Command("infer", "Run a model over every tissue tile of whole-slide images and write tables, heatmaps and annotations")
        {
            slides, model, output, batch, device.Device, device.TrtFp16, device.TrtEngineCache, device.CudaArena, device.CudnnConvSearch, device.IoBinding, instances, threads, workers, spin, tile.TileSize, tile.Mpp, tile.Mean, tile.Std, classes, noTissue, minTissue, overlap, threshold, maxBadTiles, json, server, modelVersion, concurrency, stain.Normalize, stain.Target, sharedMemory,
            qc,
        };
        qcFlags.AddTo(command);
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var deviceSettings = device.Read(r);
            var request = new Request
            {
                Slides = r.GetValue(slides) ?? [],
                Model = r.GetValue(model)!,
                Out = r.GetValue(output)!,
                Batch = r.GetValue(batch),
                Device = deviceSettings.Device,
                Gpu = deviceSettings.Gpu,
                IoBinding = deviceSettings.IoBinding,
                Instances = r.GetValue(instances),
                Threads = r.GetValue(threads),
                Workers = r.GetValue(workers),
                OrtSpinning = r.GetValue(spin),
                Overrides = tile.Read(r) with
                {
                    ClassNames = r.GetValue(classes) is { } c ? HistoscaleParameters.SplitList(c) : null,
                    MaxBatchSize = Math.Max(1, r.GetValue(batch)),
                },
                NoTissue = r.GetValue(noTissue),
                MinTissue = r.GetValue(minTissue),
                Overlap = r.GetValue(overlap),
                Threshold = r.GetValue(threshold),
                MaxBadTiles = r.GetValue(maxBadTiles)!,
                Json = r.GetValue(json),
                Server = r.GetValue(server),
                ModelVersion = r.GetValue(modelVersion),
                Concurrency = r.GetValue(concurrency),
                StainNormalize = r.GetValue(stain.Normalize),
                StainTarget = r.GetValue(stain.Target),
                Quality = r.GetValue(qc) ? qcFlags.Read(r) : null,
                SharedMemory = r.GetValue(sharedMemory) == "system",
                QcFlagWithoutQc = r.GetValue(qc) ? null : qcFlags.FirstGiven(r),
            };
            var config = r.InvocationConfiguration;
            return await RunAsync(request, config.Output, config.Error, live: config.Output == Console.Out && !Console.IsOutputRedirected && !request.Json, ct);
        });
        return command;
    }

    /// <summary>"N" (a count) or "P%" (a percentage of a slide's tiles).</summary>
    internal static (int? Count, double? Fraction) ParseMaxBadTiles(string value)
    {
        var text = value.Trim();
        if (text.EndsWith('%')
            && double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var percent)
            && percent is >= 0 and <= 100)
        {
            return (null, percent / 100);
        }
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count))
        {
            return (count, null);
        }
        throw new InputException($"--max-bad-tiles '{value}' must be a count (3) or a percentage of a slide's tiles (1%)");
    }

    /// <summary>Runs a request: model loaded and checked before any slide is read; returns the exit code.</summary>
    public static async Task<int> RunAsync(Request request, TextWriter stdout, TextWriter stderr, bool live, CancellationToken cancellationToken)
    {
        if (request.Batch < 1)
        {
            throw new InputException("--batch must be at least 1");
        }
        if (request.QcFlagWithoutQc is { } qcFlag)
        {
            throw new InputException($"{qcFlag} needs --qc");
        }
        if (request.Instances is < 1 || request.Threads is < 1 || request.Workers is < 1)
        {
            throw new InputException("--instances, --threads and --workers must be at least 1");
        }
        if (request.Overrides.Mpp is { } m && !(m > 0))
        {
            throw new InputException("--mpp must be a positive number of µm per pixel");
        }
        var (badCount, badFraction) = ParseMaxBadTiles(request.MaxBadTiles);
        if (request.Server is not null && request.Concurrency < 1)
        {
            throw new InputException("--concurrency must be at least 1");
        }
        if (request.SharedMemory && (request.Server is null || !request.Server.StartsWith("grpc", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InputException("--shared-memory system needs --server grpc://HOST:8001 (a gRPC server on this host)");
        }
        // A remote model is described by its server (metadata and config, incl. histoscale.* parameters); a local one by its files.
        await using var remote = request.Server is null
            ? null
            : await RemoteBackends.CreateAsync(request.Server, request.Model, request.ModelVersion, new RemoteBackendOptions
            {
                Concurrency = request.Concurrency,
                SharedMemory = request.SharedMemory ? SharedMemoryMode.System : SharedMemoryMode.None,
            }, cancellationToken);
        var description = remote is null
            ? ModelDescription.Load(request.Model, request.Overrides)
            : ModelDescription.FromServer(request.Server!, remote.Config, remote.Metadata, request.Overrides);
        if (description.MaxBatchSize > 0 && request.Batch > description.MaxBatchSize)
        {
            throw new InputException($"--batch {request.Batch} exceeds max_batch_size {description.MaxBatchSize} of model '{description.Name}'");
        }
        var host = HostContext.FromEnvironment();
        var stain = StainFlags.Resolve(request.StainNormalize, request.StainTarget, host.Slides);
        var slides = await InferInputs.ExpandAsync(request.Slides, host.ObjectStores, host.Slides.Formats, cancellationToken);
        var runOptions = new RunOptions
        {
            OutputDirectory = request.Out,
            Slides = host.Slides,
            TargetMpp = request.Overrides.Mpp,
            Overlap = request.Overlap,
            MinTissue = request.MinTissue,
            DetectTissue = !request.NoTissue,
            Threshold = request.Threshold,
            MaxBadTiles = badCount,
            MaxBadTileFraction = badFraction ?? 0.01,
            Quality = request.Quality,
            Pipeline = new PipelineOptions { BatchSize = request.Batch, ReadWorkers = request.Workers },
            Stain = stain,
            Environment = new Dictionary<string, object?>
            {
                ["device"] = request.Device,
                ["backend"] = request.Server is null ? "onnxruntime" : $"kserve {request.Server}",
                ["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(),
                ["cores"] = Environment.ProcessorCount,
            },
        };
        ReserveThreads(request);
        // The sessions load (all instances at once) while the run opens the first slide, detects its tissue and
        // starts reading its tiles; a model that cannot load still fails the command before any slide is recorded.
        await using var local = remote is null ? OnnxRuntimeBackend.Start(description, LocalOptions(request, description)) : null;
        IInferenceBackend backend = (IInferenceBackend?)remote ?? local!;
        var batcherOptions = BatcherOptions.FromConfig(description.Config) with { MaxBatchSize = request.Batch, MaxQueueSize = 0 };
        await using var batcher = new DynamicBatcher(backend, batcherOptions);
        var run = new InferenceRun(description, batcher, runOptions) { ModelReady = local?.Ready };

        var summary = await RunProgressView.RunAsync(p => run.RunAsync(slides, p, cancellationToken), live, stderr, TimeSpan.FromSeconds(5));
        if (request.Json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                slides = summary.Slides.Select(s => new
                {
                    name = s.Name,
                    tiles = s.Tiles,
                    seconds = s.Seconds,
                    tilesPerSecond = s.TilesPerSecond,
                    megapixelsPerSecond = s.MegapixelsPerSecond,
                    status = s.Status,
                    rerunReason = s.RerunReason,
                    unreadableTiles = s.UnreadableTiles,
                    error = s.Error,
                }),
                runJson = summary.RunJsonPath,
            }, CliJson.Compact));
        }
        else
        {
            var c = CultureInfo.InvariantCulture;
            foreach (var s in summary.Slides)
            {
                stdout.WriteLine(s.Status == SlideSummary.Failed || s.Status == SlideSummary.Cancelled
                    ? $"{s.Name}: {s.Status}: {s.Error}"
                    : string.Create(c, $"{s.Name}: {s.Status}, {s.Tiles} tiles, {s.Seconds:F1} s, {s.TilesPerSecond:F1} tiles/s, {s.MegapixelsPerSecond:F1} MP/s")
                        + (s.UnreadableTiles > 0 ? $", {s.UnreadableTiles} unreadable tiles (run.json lists the first causes)" : "")
                        + (s.RerunReason is { } why ? $" (rerun: {why})" : ""));
            }
            stdout.WriteLine($"outputs in {Path.GetFullPath(request.Out)} (run.json: {summary.RunJsonPath})");
        }
        foreach (var failed in summary.Slides.Where(s => s.Status == SlideSummary.Failed))
        {
            stderr.WriteLine($"histoscale: {failed.Name}: {failed.Error}");
        }
        return summary.Cancelled ? Interrupted : summary.AnyFailed ? CliRunner.Failure : CliRunner.Ok;
    }

    /// <summary>
    /// Each model instance holds a thread-pool thread for as long as a batch runs, and the pipeline's channel stages
    /// and output writing need pool threads meanwhile: with the pool's default minimum (one per core) they waited for
    /// it to inject threads, half a second at a time, while the model idled. Keep enough threads ready from the start.
    /// </summary>
    private static void ReserveThreads(Request request)
    {
        var instances = request.Instances ?? Environment.ProcessorCount;
        ThreadPool.GetMinThreads(out var workers, out var io);
        var wanted = Environment.ProcessorCount + (2 * instances) + 4;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, io);
        }
    }

    private static OnnxRuntimeOptions LocalOptions(Request request, ModelDescription description) =>
        LocalOptions(description, request.Device, request.Batch, request.Instances, request.Threads, request.OrtSpinning) with
        {
            Gpu = request.Gpu,
            IoBinding = request.IoBinding,
        };

    /// <summary>The in-process backend's options for a run with these flags (also what queue workers load models with).</summary>
    internal static OnnxRuntimeOptions LocalOptions(ModelDescription description, string device, int batch, int? instances, int? threads, bool spinning)
    {
        // On a small CPU machine one multi-threaded session stalls whenever decoding takes a core (each parallel op
        // waits for its preempted thread); one single-threaded instance per core loses only the CPU decoding uses
        // (BENCHMARKS.md). Explicit flags or an instance_group count > 1 in the config win.
        var smallCpu = device == "cpu" && instances is null && threads is null &&
            description.Config.InstanceCount <= 1 && Environment.ProcessorCount is >= 2 and <= 4;
        return new OnnxRuntimeOptions
        {
            Instances = smallCpu ? Environment.ProcessorCount : instances,
            IntraOpThreads = smallCpu ? 1 : threads,
            // One tile per instance: enough to fail early on a model that cannot run and to do the session's first-run
            // set-up. A full batch per instance (one after another) kept the cores from the first slide for seconds.
            WarmupBatchSize = 1,
            AllowSpinning = spinning,
        }.WithDevice(device);
    }

}
