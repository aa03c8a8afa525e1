using System.CommandLine;
using System.Text.Json;
using Histoscale.Inference.Models;
using Histoscale.Pipeline.Inputs;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Jobs;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale submit SLIDES... --queue URL --model M --out DIR [infer flags]</c>: one job per slide on a broker's
/// queue, for <c>histoscale worker</c> processes to run. The job carries the flags that decide a slide's results
/// (tiling, tissue, thresholds, <c>--max-bad-tiles</c>, <c>--qc</c> and its thresholds, the stain normalisation with
/// its target resolved here); the process flags
/// (<c>--workers</c>, <c>--instances</c>, <c>--threads</c>, <c>--server</c>) are the worker's own. Local slides, models and output folders are made absolute,
/// so workers on the same file system find them. Prints the count and the batch id. Exit 2 on bad input (flags, a
/// queue URL with an unknown scheme, a broker unreachable after the retries).
/// </summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var slides = new Argument<string[]>("slides") { Description = "Slides: files, folders, globs (dir/*.svs), @manifest.txt or URIs", Arity = ArgumentArity.OneOrMore };
        var queue = QueueFlags.Queue();
        var connectAttempts = QueueFlags.ConnectAttempts();
        var model = new Option<string>("--model") { Description = "Model: repository model directory or .onnx file (as the workers see it), or the served model's name for workers with --server", Required = true };
        var modelVersion = new Option<string?>("--model-version") { Description = "Served model version (workers with --server)" };
        var output = new Option<string>("--out") { Description = "Output folder shared by the workers, or an object-store prefix (s3://, az://, gs://)", Required = true };
        var batch = new Option<int>("--batch") { Description = "Tiles per batch", DefaultValueFactory = _ => 32 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or tensorrt (optionally :GPU_ID), for in-process workers", DefaultValueFactory = _ => "cpu" };
        var tile = new TileModelOptions("Tile size in pixels (models with variable input size, or to check the config)");
        var classes = new Option<string?>("--classes") { Description = "Class names a,b,c" };
        var noTissue = new Option<bool>("--no-tissue") { Description = "Run every tile, without tissue detection" };
        var minTissue = new Option<double>("--min-tissue") { Description = "Minimum tissue fraction of a tile", DefaultValueFactory = _ => 0.1 };
        var overlap = new Option<int>("--overlap") { Description = "Pixels shared by neighbouring tiles", DefaultValueFactory = _ => 0 };
        var threshold = new Option<double>("--threshold") { Description = "Score at or above which a region belongs to a class", DefaultValueFactory = _ => 0.5 };
        var maxBadTiles = new Option<string>("--max-bad-tiles") { Description = "Unreadable tiles a slide may have: a count, or a percentage like 1%", DefaultValueFactory = _ => "1%" };
        var json = new Option<bool>("--json") { Description = "Print {\"jobs\":N,\"batch\":\"ID\"} on stdout" };
        var qc = new Option<bool>("--qc") { Description = "Run quality control first, as infer --qc: tiles over blur, pen or folds get status=excluded:KIND (docs/qc.md); the job then needs workers of job version 2 or later" };
        var qcFlags = new QcFlags();
        var stain = new StainFlags();
        var command = new Command("submit", "Put one slide job per slide on a broker's queue for `histoscale worker` processes")
        {
            slides, queue, connectAttempts, model, modelVersion, output, batch, device, tile.TileSize, tile.Mpp, tile.Mean, tile.Std, classes, noTissue, minTissue, overlap, threshold, maxBadTiles, json,
            qc, stain.Normalize, stain.Target,
        };
        qcFlags.AddTo(command);
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var stdout = r.InvocationConfiguration.Output;
            QueueFlags.Check(r.GetValue(connectAttempts));
            if (!r.GetValue(qc) && qcFlags.FirstGiven(r) is { } qcFlag)
            {
                throw new InputException($"{qcFlag} needs --qc");
            }
            var overrides = tile.Read(r);
            // The stain target is read or fitted here, once, and travels in the job as numbers.
            var stainTarget = r.GetValue(stain.Target);
            var normalization = stain.Read(r, HostContext.FromEnvironment().Slides);
            var (badCount, badFraction) = InferCommand.ParseMaxBadTiles(r.GetValue(maxBadTiles)!);
            var parameters = new JobParameters
            {
                Batch = r.GetValue(batch),
                Device = r.GetValue(device)!,
                TileSize = overrides.TileSize,
                Mpp = overrides.Mpp,
                Mean = overrides.Mean,
                Std = overrides.Std,
                Classes = r.GetValue(classes) is { } c ? HistoscaleParameters.SplitList(c) : null,
                DetectTissue = !r.GetValue(noTissue),
                MinTissue = r.GetValue(minTissue),
                Overlap = r.GetValue(overlap),
                Threshold = r.GetValue(threshold),
                MaxBadTiles = badCount,
                MaxBadTileFraction = badFraction ?? 0.01,
                Qc = r.GetValue(qc) ? JobQuality.From(qcFlags.Read(r)) : null,
                StainTarget = normalization is null ? null : JsonDocument.Parse(normalization.Target.ToJson(indented: false)).RootElement.Clone(),
                StainTargetSource = normalization is null ? null : stainTarget is not null && !stainTarget.Contains("://", StringComparison.Ordinal) && File.Exists(stainTarget) ? Path.GetFullPath(stainTarget) : stainTarget,
            };
            try
            {
                parameters.Validate();
            }
            catch (JobFormatException ex)
            {
                throw new InputException(ex.Message.Replace("job field 'parameters.", "'--", StringComparison.Ordinal));
            }
            var outDir = r.GetValue(output)!;
            if (Histoscale.Storage.StorageUri.TryParse(outDir, out var store) && store is not null)
            {
                // An object-store prefix: the workers stage each slide locally and upload its finished files.
                outDir = outDir.EndsWith('/') ? outDir : outDir + "/";
            }
            else if (outDir.Contains("://", StringComparison.Ordinal))
            {
                throw new InputException($"--out {outDir}: expected a folder the workers share (a local path or a mounted volume) or an object-store prefix (s3://BUCKET/PREFIX/, az://ACCOUNT/CONTAINER/PREFIX/, gs://BUCKET/PREFIX/)");
            }
            var modelRef = r.GetValue(model)!;
            if (File.Exists(modelRef) || Directory.Exists(modelRef))
            {
                modelRef = Path.GetFullPath(modelRef);
            }
            var host = HostContext.FromEnvironment();
            var inputs = await InferInputs.ExpandAsync(r.GetValue(slides) ?? [], host.ObjectStores, host.Slides.Formats, ct);
            if (inputs.Count == 0)
            {
                throw new InputException("no slides to submit (check the paths, folders, globs or manifests given)");
            }
            var clash = inputs.GroupBy(SlideInputs.NameOf, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null)
            {
                throw new InputException($"two slides would write outputs named '{clash.Key}': {string.Join(", ", clash)}");
            }
            var batchId = Guid.NewGuid().ToString("N")[..12];
            var submitted = DateTimeOffset.UtcNow;
            var jobs = inputs.Select((slide, i) => new SlideJob
            {
                Id = $"{batchId}-{i + 1}",
                BatchId = batchId,
                Slide = slide.Contains("://", StringComparison.Ordinal) ? slide : Path.GetFullPath(slide),
                Model = modelRef,
                ModelVersion = r.GetValue(modelVersion),
                Output = store is not null ? outDir : Path.GetFullPath(outDir),
                Parameters = parameters,
                Submitted = submitted,
            }).ToList();
            await using var q = await JobQueues.OpenAsync(r.GetValue(queue)!, QueueFlags.Options(r.GetValue(connectAttempts)), ct);
            foreach (var job in jobs)
            {
                await q.EnqueueAsync(job.ToJson(), ct);
            }
            stdout.WriteLine(r.GetValue(json)
                ? JsonSerializer.Serialize(new { jobs = jobs.Count, batch = batchId, queue = q.Name }, CliJson.Compact)
                : $"submitted {jobs.Count} job{(jobs.Count == 1 ? "" : "s")} to {q.Name} (batch {batchId})");
            return CliRunner.Ok;
        });
        return command;
    }
}

/// <summary>Flags every queue verb shares.</summary>
internal static class QueueFlags
{
    public static Option<string> Queue() => new("--queue")
    {
        Description = "Broker queue: redis://HOST:PORT[/DB][?queue=NAME] (Redis Streams) or amqp://USER:PASS@HOST[:PORT]/[VHOST][?queue=NAME] (RabbitMQ) or azqueue://ACCOUNT/QUEUE (Azure Queue Storage; AZURE_STORAGE_CONNECTION_STRING or the default Azure credentials)",
        Required = true,
    };

    public static Option<int> ConnectAttempts() => new("--connect-attempts")
    {
        Description = "Attempts to reach the broker (exponential backoff from 0.5 s) before giving up with exit 2",
        DefaultValueFactory = _ => 5,
    };

    /// <summary>Queue options from the flags and the environment (AZURE_STORAGE_CONNECTION_STRING for azqueue://,
    /// AWS_ENDPOINT_URL_SQS for sqs://, PUBSUB_EMULATOR_HOST for gcppubsub://).</summary>
    public static QueueOptions Options(int connectAttempts)
    {
        var host = HostContext.FromEnvironment();
        return new()
        {
            ConnectAttempts = connectAttempts,
            AzureConnectionString = host.Storage.AzureConnectionString,
            SqsServiceUrl = host.SqsServiceUrl,
            PubSubEmulatorHost = host.PubSubEmulatorHost,
        };
    }

    public static void Check(int connectAttempts)
    {
        if (connectAttempts < 1)
        {
            throw new InputException("--connect-attempts must be at least 1");
        }
    }
}
