using Histoscale.Inference.Models;
using Histoscale.Quantization.Proto;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;

namespace Histoscale.Quantization;

/// <summary>
/// Runs the FP32 model with the activations to be quantized exposed as extra graph outputs, through the project's
/// ONNX Runtime backend, and folds every batch into one <see cref="RangeHistogram"/> per activation.
/// </summary>
internal sealed class Calibrator : IAsyncDisposable
{
    private readonly OnnxRuntimeBackend _backend;
    private readonly string _directory;
    private readonly string[] _tensors;
    private readonly string[] _outputs;

    private Calibrator(OnnxRuntimeBackend backend, string directory, string[] tensors, string[] outputs)
    {
        _backend = backend;
        _directory = directory;
        _tensors = tensors;
        _outputs = outputs;
        Histograms = tensors.ToDictionary(t => t, _ => new RangeHistogram());
    }

    public IReadOnlyDictionary<string, RangeHistogram> Histograms { get; }

    /// <param name="model">The FP32 model (not modified).</param>
    /// <param name="tensors">Activations to measure.</param>
    /// <param name="source">The source model's description: input/output names to keep.</param>
    /// <param name="options">How ONNX Runtime runs the instrumented model; CPU defaults when null.</param>
    public static Calibrator Create(ModelProto model, IEnumerable<string> tensors, ModelDescription source, OnnxRuntimeOptions? options = null)
    {
        var names = tensors.Distinct().ToArray();
        var instrumented = model.Clone();
        var outputs = instrumented.Graph.Output.Select(o => o.Name).ToHashSet();
        var inputs = instrumented.Graph.Input.Select(i => i.Name).ToHashSet();
        foreach (var t in names)
        {
            // Graph inputs are observed from the batch itself: ONNX Runtime does not return an input as an output.
            if (!inputs.Contains(t) && outputs.Add(t))
            {
                // Element type only: ONNX Runtime infers the shape.
                instrumented.Graph.Output.Add(new ValueInfoProto
                {
                    Name = t,
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTensorData.Float } },
                });
            }
        }
        var directory = Directory.CreateTempSubdirectory("histoscale-calibration-").FullName;
        try
        {
            var path = Path.Combine(directory, "calibration.onnx");
            OnnxModelFile.Save(instrumented, path);
            var description = ModelDescription.FromOnnxFile(path, new ModelOverrides
            {
                Name = source.Name + "_calibration",
                MaxBatchSize = Math.Max(1, source.MaxBatchSize),
                InputName = source.ImageInput.Name,
                OutputName = source.PrimaryOutput.Name,
            });
            var backend = OnnxRuntimeBackend.Create(description, (options ?? new OnnxRuntimeOptions()) with { Instances = 1, WarmupBatchSize = 0 });
            return new Calibrator(backend, directory, names, [.. model.Graph.Output.Select(o => o.Name)]);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Runs one batch; with <paramref name="observe"/> its activations are added to the histograms (held-out batches
    /// only want the outputs). Returns the model's own outputs (the caller disposes them).
    /// </summary>
    public async Task<TensorSet> RunAsync(TensorSet inputs, bool observe, CancellationToken cancellationToken = default)
    {
        var outputs = await _backend.ExecuteAsync(inputs, cancellationToken).ConfigureAwait(false);
        var result = new TensorSet();
        try
        {
            if (observe)
            {
                // One tensor per task: the histograms are independent, and this is most of calibration's CPU time.
                Parallel.ForEach(_tensors, new ParallelOptions { CancellationToken = cancellationToken }, t =>
                    Histograms[t].Add((inputs.TryGet(t, out var input) ? input : outputs[t]).AsSpan<float>()));
            }
            foreach (var name in _outputs)
            {
                result.Add(name, Copy(outputs[name]));
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            outputs.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _backend.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private static Tensor Copy(Tensor t)
    {
        var copy = Tensor.Rent(t.DataType, t.Shape);
        t.Bytes.CopyTo(copy.Bytes);
        return copy;
    }
}
