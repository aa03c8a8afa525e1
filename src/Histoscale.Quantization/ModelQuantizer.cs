using System.Globalization;
using Histoscale.Inference.Models;
using Histoscale.Inference;
using Histoscale.Quantization.Proto;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;

namespace Histoscale.Quantization;

/// <summary>
/// Post-training static INT8 quantization of an FP32 ONNX model: plan what to quantize, observe activation ranges
/// on calibration batches (<see cref="CalibrateAsync"/>), then write the rewritten model (<see cref="Write"/>).
/// </summary>
public sealed class ModelQuantizer : IAsyncDisposable
{
    // Ops that only move or select data: not counted as "kept FP32" compute in the summary.
    private static readonly HashSet<string> Structural = ["Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Shape", "Constant", "Dropout", "Cast", "Expand"];

    private readonly ModelProto _model;
    private readonly QuantizationPlan _plan;
    private readonly Calibrator _calibrator;
    private readonly QuantizationOptions _options;
    private readonly string _modelPath;
    private int _calibrationTiles;

    private ModelQuantizer(ModelProto model, string modelPath, QuantizationPlan plan, Calibrator calibrator, QuantizationOptions options)
    {
        _model = model;
        _modelPath = modelPath;
        _plan = plan;
        _calibrator = calibrator;
        _options = options;
    }

    /// <summary>Activations whose ranges calibration measures.</summary>
    public int CalibrationTensorCount => _plan.CalibrationTensors.Count();

    /// <summary>
    /// Reads and plans <paramref name="source"/>'s model. Throws <see cref="ModelConfigException"/> naming the file
    /// (and node) when it cannot be quantized: not ONNX, external data missing, already quantized, opset too old.
    /// </summary>
    public static ModelQuantizer Open(ModelDescription source, QuantizationOptions? options = null, OnnxRuntimeOptions? runtime = null)
    {
        options ??= new QuantizationOptions();
        var model = OnnxModelFile.Load(source.ModelPath);
        var plan = QuantizationPlan.Create(model, source.ModelPath, options.Ops is null ? null : new HashSet<QuantizedOp>(options.Ops));
        var calibrator = Calibrator.Create(model, plan.CalibrationTensors, source, runtime);
        return new ModelQuantizer(model, source.ModelPath, plan, calibrator, options);
    }

    /// <summary>Runs a calibration batch and records its activations; returns the FP32 outputs (caller disposes).</summary>
    public async Task<TensorSet> CalibrateAsync(TensorSet batch, CancellationToken cancellationToken = default)
    {
        var outputs = await _calibrator.RunAsync(batch, observe: true, cancellationToken).ConfigureAwait(false);
        _calibrationTiles += outputs.Count > 0 ? outputs[0].Tensor.BatchSize : 0;
        return outputs;
    }

    /// <summary>Runs the FP32 model on a held-out batch without recording it (the reference for agreement checks).</summary>
    public Task<TensorSet> ReferenceAsync(TensorSet batch, CancellationToken cancellationToken = default) =>
        _calibrator.RunAsync(batch, observe: false, cancellationToken);

    /// <summary>The uint8 parameters calibration arrived at, per activation tensor.</summary>
    internal Dictionary<string, ActivationQuantization> Parameters()
    {
        var result = new Dictionary<string, ActivationQuantization>();
        foreach (var (tensor, histogram) in _calibrator.Histograms)
        {
            if (histogram.Count == 0)
            {
                throw new InvalidOperationException("no calibration batch was run");
            }
            var (min, max) = histogram.Range(_options.Method, _options.Percentile);
            result[tensor] = ActivationQuantization.FromRange(min, max);
        }
        foreach (var (tensor, source) in _plan.TiedTo)
        {
            result[tensor] = result[source];
        }
        return result;
    }

    /// <summary>Rewrites the model with the calibrated parameters and saves it to <paramref name="path"/>.</summary>
    public QuantizationSummary Write(string path)
    {
        var parameters = Parameters();
        var model = _model.Clone();
        var plan = QuantizationPlan.Create(model, _modelPath, _options.Ops is null ? null : new HashSet<QuantizedOp>(_options.Ops));
        var summary = Summarize(plan); // before the rewrite replaces the node list
        var emitter = new GraphEmitter(plan, parameters, _options.ReduceRange);
        if (_options.Format == QuantizationFormat.Qdq)
        {
            QdqRewriter.Rewrite(plan, emitter);
        }
        else
        {
            QOperatorRewriter.Rewrite(plan, emitter);
        }
        var method = _options.Method == CalibrationMethod.MinMax ? "minmax" : $"percentile {_options.Percentile.ToString(CultureInfo.InvariantCulture)}";
        emitter.Commit($"int8 {_options.Format.ToString().ToLowerInvariant()}, u8 activations / s8 per-channel weights{(_options.ReduceRange ? " (7-bit)" : "")}, {method} over {_calibrationTiles} tiles");
        OnnxModelFile.Save(model, path);
        return summary;
    }

    /// <summary>Disposes the calibration session.</summary>
    public ValueTask DisposeAsync() => _calibrator.DisposeAsync();

    private static QuantizationSummary Summarize(QuantizationPlan plan)
    {
        var quantized = plan.Nodes.GroupBy(p => p.Node.OpType).ToDictionary(g => g.Key, g => g.Count());
        var kept = plan.Graph.Graph.Node
            .Where(n => !plan.ByNode.ContainsKey(n) && !plan.Folded.Contains(n) && !Structural.Contains(n.OpType))
            .GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        return new QuantizationSummary(quantized, kept, plan.Folded.Count);
    }
}
