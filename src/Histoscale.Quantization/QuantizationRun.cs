using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Sampling;

namespace Histoscale.Quantization;

/// <summary>What to quantize, where to write it, and how to calibrate and check it.</summary>
public sealed record QuantizationRequest
{
    /// <summary>FP32 model: repository model directory (REPO/NAME) or a .onnx file.</summary>
    public required string Model { get; init; }

    /// <summary>A model repository folder (writes OUT/NAME_int8/) or a .onnx file.</summary>
    public required string Out { get; init; }

    /// <summary>Calibration tiles.</summary>
    public int Tiles { get; init; } = 256;

    /// <summary>Further held-out tiles on which INT8 is compared with FP32 (0: no check).</summary>
    public int Check { get; init; } = 64;

    /// <summary>Tiles per calibration batch (every activation of a batch is kept while it is measured).</summary>
    public int Batch { get; init; } = 4;

    /// <summary>Format, calibration method and operator selection.</summary>
    public QuantizationOptions Options { get; init; } = new();

    /// <summary>Model settings given on the command line (tile size, µm/px, normalisation...), as for <c>infer</c>.</summary>
    public ModelOverrides Overrides { get; init; } = new();

    /// <summary>Sample calibration tiles from tissue only (false: from every tile of the slides).</summary>
    public bool DetectTissue { get; init; } = true;

    /// <summary>Minimum tissue fraction of a sampled tile (0–1).</summary>
    public double MinTissue { get; init; } = 0.1;

    /// <summary>How the calibration slides are opened (URI schemes, formats, cache).</summary>
    public Slides.SlideOptions Slides { get; init; } = new();

    /// <summary>Stain normalisation of the calibration tiles, as the quantized model's runs will use (<c>--stain-normalize</c>); null = none.</summary>
    public Pipeline.Staining.StainNormalization? Stain { get; init; }
}

/// <summary>What a quantization run wrote and how closely the INT8 model follows the FP32 one.</summary>
/// <param name="Source">The FP32 model as loaded.</param>
/// <param name="Written">The repository model directory written, or the .onnx file for a bare output.</param>
/// <param name="ModelFile">The INT8 .onnx file.</param>
/// <param name="Summary">What the rewrite quantized and kept.</param>
/// <param name="Slides">Calibration slides given.</param>
/// <param name="TilesAvailable">Planned tiles over all slides, from which tiles were sampled.</param>
/// <param name="CalibrationTiles">Tiles used for calibration.</param>
/// <param name="Agreement">INT8 against FP32 on the held-out tiles.</param>
/// <param name="Elapsed">Wall time of the whole run.</param>
public sealed record QuantizationReport(
    ModelDescription Source,
    string Written,
    string ModelFile,
    QuantizationSummary Summary,
    int Slides,
    long TilesAvailable,
    int CalibrationTiles,
    OutputAgreement Agreement,
    TimeSpan Elapsed)
{
    /// <summary>Sampled tiles left out because their data could not be decoded (corrupt or truncated).</summary>
    public int SkippedTiles { get; init; }

    /// <summary>The first few skipped tiles' errors, each naming the slide, level and tile; empty when none.</summary>
    public IReadOnlyList<string> SkippedCauses { get; init; } = [];
}

/// <summary>
/// Post-training static INT8 quantization of a model, end to end: calibration tiles sampled from real slides
/// through the pipeline's own tiling and normalisation, a share held out to measure agreement with FP32, the
/// result written as a repository entry (config.pbtxt with the source's inputs, outputs and histoscale.* block) or a
/// bare .onnx, then loaded back the way infer loads it.
/// </summary>
public static class QuantizationRun
{
    /// <summary>Appended to the source model's name to name the quantized repository model.</summary>
    public const string NameSuffix = "_int8";

    /// <summary>Quantizes <paramref name="request"/>'s model, calibrating on tiles from <paramref name="slides"/>, and reports the result.</summary>
    /// <exception cref="QuantizationConfigException">Invalid request values, no slides, or an output that would overwrite the FP32 model.</exception>
    /// <exception cref="Histoscale.Inference.ModelConfigException">The source model's description is invalid.</exception>
    public static async Task<QuantizationReport> RunAsync(QuantizationRequest request, IReadOnlyList<string> slides, CancellationToken cancellationToken = default)
    {
        Validate(request);
        var source = ModelDescription.Load(request.Model, request.Overrides);
        var bare = request.Out.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        var targetName = source.Name + NameSuffix;
        var modelDirectory = bare ? null : Path.Combine(request.Out, targetName);
        var modelPath = bare ? Path.GetFullPath(request.Out) : Path.GetFullPath(Path.Combine(modelDirectory!, "1", source.Config.ModelFileName));
        if (string.Equals(modelPath, Path.GetFullPath(source.ModelPath), StringComparison.Ordinal))
        {
            throw new QuantizationConfigException($"--out would overwrite the FP32 model {source.ModelPath}");
        }
        if (slides.Count == 0)
        {
            throw new QuantizationConfigException("no calibration slides (check the paths, folders, globs or manifests given to --calibrate)");
        }
        var sampler = new TileSampler(source, new RunOptions
        {
            OutputDirectory = Path.GetTempPath(), // nothing is written: only the tiling options are used
            TargetMpp = request.Overrides.Mpp,
            MinTissue = request.MinTissue,
            DetectTissue = request.DetectTissue,
            Slides = request.Slides,
            Stain = request.Stain,
        });
        var sampled = sampler.Pick(slides, request.Tiles + request.Check);
        if (sampled.Count == 0)
        {
            throw new QuantizationConfigException($"the calibration slides have no tiles to sample{(request.DetectTissue ? " with tissue (try --no-tissue or a lower --min-tissue)" : "")}");
        }
        // A tile whose data is corrupt is skipped (counted, the first few named) as it is packed, each tile decoded
        // once; only when fewer than half of the sampled tiles remain is the calibration refused (before the model
        // is written): its slides are then not what the model will see.
        var skipped = sampler.Skipped;
        void CheckEnoughRead()
        {
            var read = sampled.Count - skipped.Count;
            if (read == 0 || read * 2 < sampled.Count)
            {
                throw new QuantizationConfigException(
                    $"{skipped.Count} of {sampled.Count} sampled calibration tiles could not be read (corrupt or truncated data), too few remain ({read}, at least half are needed); first: "
                    + string.Join("; ", skipped.Take(MaxSkippedReported).Select(t => t.Error)));
            }
        }
        // The check compares float vectors; a model whose output is something else is quantized unchecked.
        var checkable = source.PrimaryOutput.DataType == TensorDataType.Fp32;
        var (calibration, heldOut) = Split(sampled, checkable ? request.Check * sampled.Count / (request.Tiles + request.Check) : 0);

        QuantizationSummary summary;
        float[]? reference = null;
        var started = DateTime.UtcNow;
        await using (var quantizer = ModelQuantizer.Open(source, request.Options))
        {
            foreach (var batch in sampler.Batches(calibration, request.Batch, skipCorrupt: true))
            {
                using (batch)
                {
                    using var inputs = new TensorSet().Add(source.ImageInput.Name, batch);
                    (await quantizer.CalibrateAsync(inputs, cancellationToken).ConfigureAwait(false)).Dispose();
                }
            }
            if (heldOut.Count > 0)
            {
                reference = await OutputsAsync(sampler, heldOut, request.Batch, source, (inputs, ct) => quantizer.ReferenceAsync(inputs, ct), cancellationToken).ConfigureAwait(false);
                heldOut = [.. heldOut.Where(t => !sampler.WasSkipped(t))]; // the same tiles for the candidate, none skipped
                reference = heldOut.Count > 0 ? reference : null;
            }
            CheckEnoughRead();
            calibration = [.. calibration.Where(t => !sampler.WasSkipped(t))];
            if (calibration.Count == 0)
            {
                throw new QuantizationConfigException($"none of the {skipped.Count} calibration tiles could be read (corrupt or truncated data); first: {string.Join("; ", skipped.Take(MaxSkippedReported).Select(t => t.Error))}");
            }
            summary = quantizer.Write(modelPath);
        }
        if (modelDirectory is not null)
        {
            WriteConfig(source, targetName, Path.Combine(modelDirectory, ModelRepository.ConfigFileName));
        }

        // The written model, loaded the way infer loads it.
        var target = ModelDescription.Load(modelDirectory ?? modelPath, request.Overrides with { Name = bare ? null : targetName, MaxBatchSize = source.MaxBatchSize > 0 ? source.MaxBatchSize : null });
        var agreement = new OutputAgreement();
        if (reference is not null)
        {
            await using var backend = OnnxRuntimeBackend.Create(target, new OnnxRuntimeOptions { Instances = 1, WarmupBatchSize = 0 });
            var candidate = await OutputsAsync(sampler, heldOut, request.Batch, target, (inputs, ct) => backend.ExecuteAsync(inputs, ct).AsTask(), cancellationToken).ConfigureAwait(false);
            agreement.Add(reference, candidate, heldOut.Count);
        }
        return new QuantizationReport(source, modelDirectory ?? modelPath, modelPath, summary, slides.Count, sampler.TilesAvailable, calibration.Count, agreement, DateTime.UtcNow - started)
        {
            SkippedTiles = skipped.Count,
            SkippedCauses = [.. skipped.Take(MaxSkippedReported).Select(t => t.Error)],
        };
    }

    /// <summary>Skipped tiles a report (and the too-few error) names; the count covers them all.</summary>
    private const int MaxSkippedReported = 5;

    /// <summary>Appended to the source model's name to name the float16 repository model.</summary>
    public const string Fp16NameSuffix = "_fp16";

    /// <summary>
    /// Writes the float16 version of <paramref name="model"/> (<see cref="Fp16Converter"/>) to <paramref name="output"/>:
    /// a repository folder (OUT/NAME_fp16/ with the source's config, whose float32 interface the model keeps) or a
    /// .onnx file; then loads it the way infer does (one warm-up batch on ONNX Runtime's CPU provider).
    /// </summary>
    /// <returns>The repository model directory (or .onnx file) written, the .onnx file, and what was converted.</returns>
    /// <exception cref="QuantizationConfigException">An output that would overwrite the source model.</exception>
    /// <exception cref="Histoscale.Inference.ModelConfigException">The source is not a float32 ONNX model, or ONNX Runtime rejects the result.</exception>
    public static async Task<(string Written, string ModelFile, Fp16Summary Summary)> ConvertFp16Async(string model, string output, ModelOverrides? overrides = null,
        IReadOnlyCollection<string>? keepFp32Ops = null)
    {
        overrides ??= new ModelOverrides();
        var source = ModelDescription.Load(model, overrides);
        var bare = output.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        var targetName = source.Name + Fp16NameSuffix;
        var modelDirectory = bare ? null : Path.Combine(output, targetName);
        var modelPath = bare ? Path.GetFullPath(output) : Path.GetFullPath(Path.Combine(modelDirectory!, "1", source.Config.ModelFileName));
        var summary = Fp16Converter.Convert(source.ModelPath, modelPath, keepFp32Ops);
        if (modelDirectory is not null)
        {
            WriteConfig(source, targetName, Path.Combine(modelDirectory, ModelRepository.ConfigFileName));
        }
        var target = ModelDescription.Load(modelDirectory ?? modelPath, overrides with { Name = bare ? null : targetName, MaxBatchSize = source.MaxBatchSize > 0 ? source.MaxBatchSize : null });
        await using (OnnxRuntimeBackend.Create(target, new OnnxRuntimeOptions { Instances = 1, WarmupBatchSize = 1 }))
        {
        }
        return (modelDirectory ?? modelPath, modelPath, summary);
    }

    private static void Validate(QuantizationRequest request)
    {
        if (request.Tiles < 1)
        {
            throw new QuantizationConfigException("--tiles must be at least 1");
        }
        if (request.Check < 0)
        {
            throw new QuantizationConfigException("--check must be 0 or more");
        }
        if (request.Batch < 1)
        {
            throw new QuantizationConfigException("--batch must be at least 1");
        }
        if (request.Options.Percentile is not (> 50 and <= 100))
        {
            throw new QuantizationConfigException("--percentile must be above 50 and at most 100");
        }
        if (request.Overrides.Mpp is { } m && !(m > 0))
        {
            throw new QuantizationConfigException("--mpp must be a positive number of µm per pixel");
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
    private static async Task<float[]> OutputsAsync(TileSampler sampler, IReadOnlyList<SampledTile> tiles, int batchSize, ModelDescription model,
        Func<TensorSet, CancellationToken, Task<TensorSet>> run, CancellationToken cancellationToken)
    {
        var values = new List<float>();
        foreach (var batch in sampler.Batches(tiles, batchSize, skipCorrupt: true))
        {
            using (batch)
            {
                using var inputs = new TensorSet().Add(model.ImageInput.Name, batch);
                using var outputs = await run(inputs, cancellationToken).ConfigureAwait(false);
                values.AddRange(outputs[model.PrimaryOutput.Name].AsSpan<float>());
            }
        }
        return [.. values];
    }

    /// <summary>The source's config (inputs, outputs, batching, histoscale.* with the overrides) under the new name.</summary>
    private static void WriteConfig(ModelDescription source, string name, string path)
    {
        var config = ModelConfigReader.Parse(ModelConfigWriter.Write(source.Config), path);
        config.Name = name;
        source.Parameters.WriteTo(config.Parameters);
        ModelConfigWriter.WriteFile(config, path);
    }
}

/// <summary>A quantization request that cannot be carried out as given (bad option, nothing to calibrate on).</summary>
public sealed class QuantizationConfigException(string message) : Exception(message);
