using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Inference.Models;
using Histoscale.Quantization;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale quantize --model M --calibrate SLIDE|DIR ... --out OUT</c>: parses the flags, expands the slide
/// arguments, runs <see cref="QuantizationRun"/> and prints its report.
/// </summary>
public static class QuantizeCommand
{
    public const string NameSuffix = QuantizationRun.NameSuffix;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "FP32 model: repository model directory (REPO/NAME) or a .onnx file", Required = true };
        var calibrate = new Option<string[]>("--calibrate") { Description = "Calibration slides: files, folders, globs or @manifest.txt (required for INT8; not with --fp16)", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
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
        var stain = new StainFlags();
        var fp16 = new Option<bool>("--fp16") { Description = "Convert to float16 instead (no calibration; float32 inputs/outputs kept; for GPUs): writes OUT/NAME_fp16/ or a .onnx" };
        var keepFp32 = new Option<string?>("--keep-fp32") { Description = "With --fp16: operator types kept in float32 (comma-separated; default Softmax, LogSoftmax, Exp, Log, Pow, large reductions, Resize, ...; \"none\" for none)" };

        var command = new Command("quantize", "Quantize an FP32 ONNX model to INT8 (static, calibrated on slide tiles) and write it as a new model")
        {
            model, calibrate, output, tiles, check, method, percentile, format, reduceRange, batch, tile.TileSize, tile.Mpp, tile.Mean, tile.Std, noTissue, minTissue, json, stain.Normalize, stain.Target, fp16, keepFp32,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            if (r.GetValue(fp16))
            {
                return await ConvertFp16Async(r.GetValue(model)!, r.GetValue(output)!, tile.Read(r), r.GetValue(keepFp32), r.GetValue(json), r.InvocationConfiguration.Output);
            }
            if (r.GetValue(keepFp32) is not null)
            {
                throw new InputException("--keep-fp32 is only for --fp16");
            }
            if ((r.GetValue(calibrate) ?? []).Length == 0)
            {
                throw new InputException("--calibrate is required for INT8 quantization (slides to calibrate on); --fp16 needs none");
            }
            var request = new QuantizationRequest
            {
                Model = r.GetValue(model)!,
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
                DetectTissue = !r.GetValue(noTissue),
                MinTissue = r.GetValue(minTissue),
                Stain = stain.Read(r, HostContext.FromEnvironment().Slides),
            };
            return await RunAsync(request, r.GetValue(calibrate) ?? [], r.GetValue(json), r.InvocationConfiguration.Output, ct);
        });
        return command;
    }

    /// <summary>Expands the calibration arguments with the host's object stores, runs the quantization, prints its report.</summary>
    public static async Task<int> RunAsync(QuantizationRequest request, IReadOnlyList<string> calibrate, bool json, TextWriter stdout, CancellationToken cancellationToken)
    {
        var host = HostContext.FromEnvironment();
        var slides = await InferInputs.ExpandAsync(calibrate, host.ObjectStores, host.Slides.Formats, cancellationToken);
        var report = await QuantizationRun.RunAsync(request with { Slides = host.Slides }, slides, cancellationToken);
        Report(stdout, request, json, report);
        return CliRunner.Ok;
    }

    private static async Task<int> ConvertFp16Async(string model, string output, ModelOverrides overrides, string? keep, bool json, TextWriter o)
    {
        IReadOnlyCollection<string>? ops = keep is null ? null
            : keep.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? [] : HistoscaleParameters.SplitList(keep);
        var started = DateTime.UtcNow;
        var (written, modelFile, s) = await QuantizationRun.ConvertFp16Async(model, output, overrides, ops);
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        var bytes = new FileInfo(modelFile).Length;
        if (json)
        {
            o.WriteLine(JsonSerializer.Serialize(new
            {
                model = written,
                modelFile,
                format = "fp16",
                bytes,
                initializers = s.Initializers,
                values = s.Values,
                saturated = s.Saturated,
                keptFloat = s.KeptFp32,
                casts = s.CastsInserted,
                seconds = Math.Round(seconds, 2),
            }, CliJson.Compact));
            return CliRunner.Ok;
        }
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(c, $"{model} → {written} (FP16, {bytes / 1e6:F1} MB; float32 inputs/outputs kept) in {seconds:F1} s"));
        o.WriteLine(string.Create(c, $"  {s.Initializers} initializers ({s.Values} values) to float16{(s.Saturated > 0 ? $", {s.Saturated} clamped to ±65504" : "")}; {s.CastsInserted} Cast nodes"));
        o.WriteLine($"  kept FP32: {(s.KeptFp32.Count == 0 ? "none" : string.Join(", ", s.KeptFp32))}");
        return CliRunner.Ok;
    }

    private static void Report(TextWriter o, QuantizationRequest request, bool json, QuantizationReport report)
    {
        var (source, written, modelPath, s, slides, available, calibrationTiles, a, elapsed) = report;
        var sourceBytes = new FileInfo(source.ModelPath).Length;
        var targetBytes = new FileInfo(modelPath).Length;
        static string Counts(IReadOnlyDictionary<string, int> counts) =>
            counts.Count == 0 ? "none" : string.Join(", ", counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));
        var method = request.Options.Method == CalibrationMethod.MinMax ? "minmax" : string.Create(CultureInfo.InvariantCulture, $"percentile {request.Options.Percentile}");
        if (json)
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
                skippedTiles = report.SkippedTiles,
                skippedCauses = report.SkippedCauses,
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
        if (report.SkippedTiles > 0)
        {
            o.WriteLine(string.Create(c, $"  skipped {report.SkippedTiles} unreadable sampled tile(s) (corrupt or truncated data); first: {string.Join("; ", report.SkippedCauses)}"));
        }
        o.WriteLine($"  quantized {s.QuantizedCount} nodes: {Counts(s.Quantized)}{(s.FoldedRelus > 0 ? $" (+{s.FoldedRelus} Relu folded in)" : "")}");
        o.WriteLine($"  kept FP32: {Counts(s.KeptFloat)}");
        o.WriteLine(a.Tiles == 0
            ? "  agreement with FP32: not checked (--check 0, too few tiles or a non-float32 output)"
            : string.Create(c, $"  agreement with FP32 on {a.Tiles} held-out tiles: cosine {a.MeanCosine:F4} (min {a.MinCosine:F4}), mean |error| {a.MeanAbsError:G3} (mean |FP32| {a.MeanAbsReference:G3}), top-1 agreement {a.Top1Agreement:P1}"));
    }
}
