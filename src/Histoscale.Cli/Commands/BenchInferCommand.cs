using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Benchmarks;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale bench infer</c>: model-only throughput of the in-process backend on pre-made tensors.</summary>
public static class BenchInferCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model: repository model directory (REPO/NAME) or a .onnx file", Required = true };
        var batch = new Option<int>("--batch") { Description = "Tiles per batch", DefaultValueFactory = _ => 32 };
        var device = new DeviceFlags();
        var instances = new Option<int?>("--instances") { Description = "Parallel model instances (default: the config's instance_group count)" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads per instance (default: cores / instances)" };
        var seconds = new Option<double>("--seconds") { Description = "Timed duration", DefaultValueFactory = _ => 10 };
        var iterations = new Option<int?>("--iterations") { Description = "Stop after this many timed batches" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed batches per instance first", DefaultValueFactory = _ => 2 };
        var tileSize = new Option<int?>("--tile-size") { Description = "Tile size for models with variable input height/width" };
        var json = new Option<bool>("--json") { Description = "Print a JSON object (key tilesPerSecond)" };

        var command = new Command("infer", "Model-only inference throughput (tiles/s) on pre-made tensors")
        {
            model, batch, instances, threads, seconds, iterations, warmup, tileSize, json,
        };
        foreach (var option in device.All)
        {
            command.Options.Add(option);
        }
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var batchSize = r.GetValue(batch);
            if (batchSize < 1)
            {
                throw new InputException("--batch must be at least 1");
            }
            if (r.GetValue(seconds) <= 0)
            {
                throw new InputException("--seconds must be positive");
            }
            if (r.GetValue(instances) is < 1 || r.GetValue(threads) is < 1)
            {
                throw new InputException("--instances and --threads must be at least 1");
            }
            var (deviceFlag, gpu, ioBinding) = device.Read(r);
            var options = new OnnxRuntimeOptions
            {
                Instances = r.GetValue(instances),
                IntraOpThreads = r.GetValue(threads),
                WarmupBatchSize = 0, // the benchmark warms up at the measured batch size itself
                Gpu = gpu,
                IoBinding = ioBinding,
            }.WithDevice(deviceFlag);

            // A bare .onnx gets max_batch_size = --batch; a repository model keeps its config.
            var description = ModelDescription.Load(r.GetValue(model)!, new ModelOverrides { MaxBatchSize = batchSize, TileSize = r.GetValue(tileSize) });
            if (description.MaxBatchSize > 0 && batchSize > description.MaxBatchSize)
            {
                throw new InputException($"--batch {batchSize} exceeds max_batch_size {description.MaxBatchSize} of model '{description.Name}'");
            }
            await using var backend = OnnxRuntimeBackend.Create(description, options);
            var result = await InferenceBenchmark.RunAsync(backend, new InferenceBenchmarkOptions
            {
                BatchSize = batchSize,
                Duration = TimeSpan.FromSeconds(r.GetValue(seconds)),
                Iterations = r.GetValue(iterations),
                WarmupIterations = r.GetValue(warmup),
                TileSize = description.TileSize,
            }, ct);

            var output = r.InvocationConfiguration.Output;
            var deviceName = options.Device.ToString().ToLowerInvariant();
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["model"] = description.Name,
                    ["version"] = description.Version,
                    ["device"] = deviceName,
                    ["inputDatatype"] = description.ImageInput.DataType.ToKServeName(),
                    ["batch"] = result.BatchSize,
                    ["instances"] = backend.InstanceCount,
                    ["threadsPerInstance"] = backend.IntraOpThreads,
                    ["ioBinding"] = backend.UsesIoBinding,
                    ["batches"] = result.Batches,
                    ["tiles"] = result.Tiles,
                    ["seconds"] = Math.Round(result.Seconds, 3),
                    ["tilesPerSecond"] = Math.Round(result.TilesPerSecond, 2),
                    ["meanBatchMs"] = Math.Round(result.MeanBatchMs, 2),
                    ["p50BatchMs"] = Math.Round(result.P50BatchMs, 2),
                    ["p99BatchMs"] = Math.Round(result.P99BatchMs, 2),
                }));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{description.Name} v{description.Version} on {deviceName} ({backend.InstanceCount} instance(s) × {backend.IntraOpThreads} thread(s){(backend.UsesIoBinding ? ", IO binding" : "")}), batch {result.BatchSize}: " +
                    $"{result.TilesPerSecond:F1} tiles/s ({result.Tiles} tiles in {result.Seconds:F1} s; batch p50 {result.P50BatchMs:F1} ms, p99 {result.P99BatchMs:F1} ms)"));
            }
            return CliRunner.Ok;
        });
        return command;
    }
}
