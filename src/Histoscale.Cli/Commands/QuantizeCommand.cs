using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Quantization;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Sampling;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale quantize --model M --calibrate SLIDE|DIR ... --out OUT</c>: post-training static INT8
/// quantization. Calibration tiles come from real slides through infer's own tiling and normalisation; a share of
/// the sampled tiles is held out to measure how closely the INT8 model follows the FP32 one.
/// </summary>
public static class QuantizeCommand
{
    public const string NameSuffix = "_int8";

    public sealed record Request
    {
        public required string Model { get; init; }
        public required IReadOnlyList<string> Calibrate { get; init; }
        public required string Out { get; init; }
        public int Tiles { get; init; } = 256;
        public int Check { get; init; } = 64;
        public int Batch { get; init; } = 4;
        public QuantizationOptions Options { get; init; } = new();
        public ModelOverrides Overrides { get; init; } = new();
        public bool NoTissue { get; init; }
        public double MinTissue { get; init; } = 0.1;
        public bool Json { get; init; }
    }

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "FP32 model: repository model directory (REPO/NAME) or a .onnx file", Required = true };
        var calibrate = new Option<string[]>("--calibrate") { Description = "Calibration slides: files, folders, globs or @manifest.txt", Required = true, AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Model repository folder (writes OUT/NAME_int8/) or a .onnx file", Required = true };
        var tiles = new Option<int>("--tiles") { Description = "Calibration tiles", DefaultValueFactory = _ => 256 };
        var check = new Option<int>("--check") { Description = "Further held-out tiles to compare INT8 with FP32 on (0: no check)", DefaultValueFactory = _ => 64 };
        var method = new Option<string>("--method") { Description = "Range from activations: minmax or percentile", DefaultValueFactory = _ => "minmax" };
        var percentile = new Option<double>("--percentile") { Description = "For --method percentile: share of values kept from each tail", DefaultValueFactory = _ => 99.99 };
        var format = new Option<string>("--format") { Description = "qdq (QuantizeLinear/DequantizeLinear, fused by ONNX Runtime) or qoperator (QLinearConv, ...)", DefaultValueFactory = _ => "qdq" };
        var reduceRange = new Option<bool>("--reduce-range") { Description = "7-bit weights, for CPUs without AVX-512 VNNI / AVX-VNNI (avoids int16 saturation there)" };
        var batch = new Option<int>("--batch") { Description = "Tiles per calibration batch (memory grows with it: every activation of a batch is kept)", DefaultValueFactory = _ => 4 };
        var tile = new TileModelOptions("Tile size in pixels (models with variable input size)");
        var noTissue = new Option<bool>("--no-tissue") { Description = "Sample from every tile, without tissue detection" };
        var minTissue = new Option<double>("--min-tissue") { Description = "Minimum tissue fraction of a tile", DefaultValueFactory = _ => 0.1 };
        var json = new Option<bool>("--json") { Description = "Print a JSON report on stdout" };

        var command = new Command("quantize", "Quantize an FP32 ONNX model to INT8 (static, calibrated on slide tiles) and write it as a new model")
        {
            model, calibrate, output, tiles, check, method, percentile, format, reduceRange, batch, tile.TileSize, tile.Mpp, tile.Mean, tile.Std, noTissue, minTissue, json,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var request = new Request
            {
                Model = r.GetValue(model)!,
                Calibrate = r.GetValue(calibrate) ?? [],
                Out = r.GetValue(output)!,
                Tiles = r.GetValue(tiles),
                Check = r.GetValue(check),
                Batch = r.GetValue(batch),
                Options = new QuantizationOptions
                {
                    Method = r.GetValue(method) switch
                    {
                        "minmax" => CalibrationMethod.MinMax,
                        "percentile" => CalibrationMethod.Percentile,
                        var m => throw new InputException($"--method '{m}': expected minmax or percentile"),
                    },
                    Percentile = r.GetValue(percentile),
                    Format = r.GetValue(format) switch
                    {
                        "qdq" => QuantizationFormat.Qdq,
                        "qoperator" => QuantizationFormat.QOperator,
                        var f => throw new InputException($"--format '{f}': expected qdq or qoperator"),
                    },
                    ReduceRange = r.GetValue(reduceRange),
                },
                Overrides = tile.Read(r),
                NoTissue = r.GetValue(noTissue),
                MinTissue = r.GetValue(minTissue),
                Json = r.GetValue(json),
            };
            return await RunAsync(request, r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    public static async Task<int> RunAsync(Request request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        Validate(request);
        var source = ModelDescription.Load(request.Model, request.Overrides);
        var bare = request.Out.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        var targetName = source.Name + NameSuffix;
        var modelDirectory = bare ? null : Path.Combine(request.Out, targetName);
        var modelPath = bare ? Path.GetFullPath(request.Out) : Path.GetFullPath(Path.Combine(modelDirectory!, "1", source.Config.ModelFileName));
        if (string.Equals(modelPath, Path.GetFullPath(source.ModelPath), StringComparison.Ordinal))
        {
            throw new InputException($"--out would overwrite the FP32 model {source.ModelPath}");
        }

        var slides = await InferInputs.ExpandAsync(request.Calibrate, cancellationToken);
        if (slides.Count == 0)
        {
            throw new InputException("no calibration slides (check the paths, folders, globs or manifests given to --calibrate)");
        }
        var sampler = new TileSampler(source, new RunOptions
        {
            OutputDirectory = Path.GetTempPath(), // nothing is written: only the tiling options are used
            TargetMpp = request.Overrides.Mpp,
            MinTissue = request.MinTissue,
            DetectTissue = !request.NoTissue,
        });
        var picks = sampler.Pick(slides, request.Tiles + request.Check);
        if (picks.Count == 0)
        {
            throw new InputException($"the calibration slides have no tiles to sample{(request.NoTissue ? "" : " with tissue (try --no-tissue or a lower --min-tissue)")}");
        }
        // The check compares float vectors; a model whose output is something else is quantized unchecked.
        var checkable = source.PrimaryOutput.DataType == TensorDataType.Fp32;
        var (calibration, heldOut) = Split(picks, checkable ? request.Check * picks.Count / (request.Tiles + request.Check) : 0);

        QuantizationSummary summary;
        float[]? reference = null;
        var started = DateTime.UtcNow;
        await using (var quantizer = ModelQuantizer.Open(source, request.Options))
        {
            foreach (var batch in sampler.Batches(calibration, request.Batch))
            {
                using (batch)
                {
                    using var inputs = new TensorSet().Add(source.ImageInput.Name, batch);
                    (await quantizer.CalibrateAsync(inputs, cancellationToken)).Dispose();
                }
            }
            if (heldOut.Count > 0)
            {
                reference = await RunAsync(sampler, heldOut, request.Batch, source, (inputs, ct) => quantizer.ReferenceAsync(inputs, ct), cancellationToken);
            }
            summary = quantizer.Write(modelPath);
        }
        if (modelDirectory is not null)
        {
            WriteConfig(source, targetName, Path.Combine(modelDirectory, "config.pbtxt"));
        }

        // The written model, loaded the way infer loads it.
        var target = ModelDescription.Load(modelDirectory ?? modelPath, request.Overrides with { Name = bare ? null : targetName, MaxBatchSize = source.MaxBatchSize > 0 ? source.MaxBatchSize : null });
        var agreement = new OutputAgreement();
        if (reference is not null)
        {
            await using var backend = OnnxRuntimeBackend.Create(target, new OnnxRuntimeOptions { Instances = 1, WarmupBatchSize = 0 });
            var candidate = await RunAsync(sampler, heldOut, request.Batch, target, (inputs, ct) => backend.ExecuteAsync(inputs, ct).AsTask(), cancellationToken);
            agreement.Add(reference, candidate, heldOut.Count);
        }
        Report(stdout, request, source, modelDirectory ?? modelPath, modelPath, summary, slides.Count, sampler.TilesAvailable, calibration.Count, agreement, DateTime.UtcNow - started);
        return CliRunner.Ok;
    }

    private static void Validate(Request request)
    {
        if (request.Tiles < 1)
        {
            throw new InputException("--tiles must be at least 1");
        }
        if (request.Check < 0)
        {
            throw new InputException("--check must be 0 or more");
        }
        if (request.Batch < 1)
        {
            throw new InputException("--batch must be at least 1");
        }
        if (request.Options.Percentile is not (> 50 and <= 100))
        {
            throw new InputException("--percentile must be above 50 and at most 100");
        }
        if (request.Overrides.Mpp is { } m && !(m > 0))
        {
            throw new InputException("--mpp must be a positive number of µm per pixel");
        }
    }

    /// <summary>
    /// Spreads <paramref name="heldOut"/> held-out tiles evenly among the picks, so both sets cover every slide
    /// (held-out is less than the pick count, so calibration is never empty).
    /// </summary>
    private static (List<SampledTile> Calibration, List<SampledTile> HeldOut) Split(IReadOnlyList<SampledTile> picks, int heldOut)
    {
        var calibration = new List<SampledTile>();
        var check = new List<SampledTile>();
        for (var i = 0; i < picks.Count; i++)
        {
            var isHeldOut = (long)(i + 1) * heldOut / picks.Count > (long)i * heldOut / picks.Count;
            (isHeldOut ? check : calibration).Add(picks[i]);
        }
        return (calibration, check);
    }

    /// <summary>The primary output (float32, tile-major) of <paramref name="tiles"/>.</summary>
    private static async Task<float[]> RunAsync(TileSampler sampler, IReadOnlyList<SampledTile> tiles, int batchSize, ModelDescription model,
        Func<TensorSet, CancellationToken, Task<TensorSet>> run, CancellationToken cancellationToken)
    {
        var values = new List<float>();
        foreach (var batch in sampler.Batches(tiles, batchSize))
        {
            using (batch)
            {
                using var inputs = new TensorSet().Add(model.ImageInput.Name, batch);
                using var outputs = await run(inputs, cancellationToken);
                values.AddRange(outputs[model.PrimaryOutput.Name].AsSpan<float>());
            }
        }
        return [.. values];
    }

    /// <summary>The source's config (inputs, outputs, batching, histoscale.* with the command-line overrides) under the new name.</summary>
    private static void WriteConfig(ModelDescription source, string name, string path)
    {
        var config = ModelConfigReader.Parse(ModelConfigWriter.Write(source.Config), path);
        config.Name = name;
        source.Parameters.WriteTo(config.Parameters);
        ModelConfigWriter.WriteFile(config, path);
    }

    private static void Report(TextWriter o, Request request, ModelDescription source, string written, string modelPath, QuantizationSummary s,
        int slides, long available, int calibrationTiles, OutputAgreement a, TimeSpan elapsed)
    {
        var sourceBytes = new FileInfo(source.ModelPath).Length;
        var targetBytes = new FileInfo(modelPath).Length;
        static string Counts(IReadOnlyDictionary<string, int> counts) =>
            counts.Count == 0 ? "none" : string.Join(", ", counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));
        var method = request.Options.Method == CalibrationMethod.MinMax ? "minmax" : string.Create(CultureInfo.InvariantCulture, $"percentile {request.Options.Percentile}");
        if (request.Json)
        {
            o.WriteLine(JsonSerializer.Serialize(new
            {
                model = written,
                modelFile = modelPath,
                format = request.Options.Format.ToString().ToLowerInvariant(),
                method,
                sourceBytes,
                bytes = targetBytes,
                calibrationTiles,
                slides,
                quantized = s.Quantized,
                keptFloat = s.KeptFloat,
                foldedRelus = s.FoldedRelus,
                check = a.Tiles == 0 ? null : new
                {
                    tiles = a.Tiles,
                    meanCosine = a.MeanCosine,
                    minCosine = a.MinCosine,
                    meanAbsError = a.MeanAbsError,
                    meanAbsReference = a.MeanAbsReference,
                    top1Agreement = a.Top1Agreement,
                },
                seconds = Math.Round(elapsed.TotalSeconds, 2),
            }, CliJson.Compact));
            return;
        }
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(c, $"{source.Name} → {written} (INT8 {request.Options.Format.ToString().ToLowerInvariant()}, {targetBytes / 1e6:F1} MB; FP32 {sourceBytes / 1e6:F1} MB) in {elapsed.TotalSeconds:F1} s"));
        o.WriteLine(string.Create(c, $"  calibration: {calibrationTiles} tiles from {slides} slide(s) ({available} planned), {method}"));
        o.WriteLine($"  quantized {s.QuantizedCount} nodes: {Counts(s.Quantized)}{(s.FoldedRelus > 0 ? $" (+{s.FoldedRelus} Relu folded in)" : "")}");
        o.WriteLine($"  kept FP32: {Counts(s.KeptFloat)}");
        o.WriteLine(a.Tiles == 0
            ? "  agreement with FP32: not checked (--check 0, too few tiles or a non-float32 output)"
            : string.Create(c, $"  agreement with FP32 on {a.Tiles} held-out tiles: cosine {a.MeanCosine:F4} (min {a.MinCosine:F4}), mean |error| {a.MeanAbsError:G3} (mean |FP32| {a.MeanAbsReference:G3}), top-1 agreement {a.Top1Agreement:P1}"));
    }

}
