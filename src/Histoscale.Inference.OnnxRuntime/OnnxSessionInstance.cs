using System.Buffers;
using Histoscale.Inference.Config;
using Histoscale.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = Histoscale.Inference.Tensors.Tensor;

namespace Histoscale.Inference.OnnxRuntime;

/// <summary>
/// One ONNX Runtime session (one Triton "instance"), used by one batch at a time. Inputs are passed to ORT as
/// OrtValues over the caller's pinned memory (no copy); when every output shape is known from the batch size,
/// outputs are written by ORT straight into pooled tensors returned to the caller (no copy either). Per-call
/// scratch (shape arrays, OrtValue/handle slots) is allocated once per instance.
/// </summary>
internal sealed class OnnxSessionInstance : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly bool _batched;
    private readonly Binding[] _inputs;
    private readonly Binding[] _outputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly bool _outputsPreallocated;
    private readonly OrtValue[] _inputValues;
    private readonly OrtValue[] _outputValues;
    private readonly MemoryHandle[] _handles;
    private readonly OrtIoBinding? _binding;

    public OnnxSessionInstance(InferenceSession session, ModelConfig config, bool arenaShrinkage = false, bool ioBinding = false)
    {
        _session = session;
        if (arenaShrinkage)
        {
            // After every run the CPU arena frees the chunks no longer in use.
            _runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        }
        _batched = config.MaxBatchSize > 0;
        _inputs = [.. config.Inputs.Select(c => Binding.Create(c, session.InputMetadata[c.Name], _batched))];
        _outputs = [.. config.Outputs.Select(c => Binding.Create(c, session.OutputMetadata[c.Name], _batched))];
        _inputNames = [.. _inputs.Select(b => b.Name)];
        _outputNames = [.. _outputs.Select(b => b.Name)];
        // ORT never copies a graph input into a caller-bound output buffer (the buffer stays as it was), so an
        // output that is also an input is left to ORT to allocate, and with it every output of the run.
        _outputsPreallocated = _outputs.All(o => o.ModelShapeKnown && !session.InputMetadata.ContainsKey(o.Name));
        _inputValues = new OrtValue[_inputs.Length];
        _outputValues = new OrtValue[_outputs.Length];
        _handles = new MemoryHandle[_inputs.Length + _outputs.Length];
        // IO binding needs every output bound to a caller buffer; otherwise the plain Run path is used.
        _binding = ioBinding && _outputsPreallocated ? session.CreateIoBinding() : null;
    }

    /// <summary>Whether batches run through an <see cref="OrtIoBinding"/> (created once per instance).</summary>
    public bool UsesIoBinding => _binding is not null;

    /// <summary>Runs one validated batch; the returned set is owned by the caller.</summary>
    public TensorSet Run(TensorSet inputs, int batch, CancellationToken cancellationToken)
    {
        var result = new TensorSet(_outputs.Length);
        var pinned = 0;
        try
        {
            for (var i = 0; i < _inputs.Length; i++)
            {
                var b = _inputs[i];
                var tensor = inputs[b.Name];
                var shape = b.ModelShape(batch, tensor);
                _handles[pinned++] = tensor.Memory.Pin();
                _inputValues[i] = CreateValue(b, shape, _handles[pinned - 1], tensor.ByteLength);
            }
            if (_outputsPreallocated)
            {
                for (var o = 0; o < _outputs.Length; o++)
                {
                    var b = _outputs[o];
                    var tensor = Tensor.Rent(b.DataType, b.ResultShape(batch));
                    result.Add(b.Name, tensor);
                    _handles[pinned++] = tensor.Memory.Pin();
                    _outputValues[o] = CreateValue(b, b.ModelShape(batch, tensor), _handles[pinned - 1], tensor.ByteLength);
                }
                if (_binding is { } binding)
                {
                    RunBound(binding, cancellationToken);
                }
                else
                {
                    Execute(() => _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues), cancellationToken);
                }
            }
            else
            {
                IDisposableReadOnlyCollection<OrtValue>? values = null;
                Execute(() => values = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames), cancellationToken);
                using (values)
                {
                    var o = 0;
                    foreach (var value in values!)
                    {
                        var b = _outputs[o++];
                        var shape = value.GetTensorTypeAndShape().Shape;
                        var tensor = Tensor.Rent(b.DataType, b.HasReshape && _batched ? [shape[0], .. b.ConfigDims] : shape);
                        result.Add(b.Name, tensor);
                        value.GetTensorMutableRawData().CopyTo(tensor.Bytes);
                    }
                }
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
            for (var i = 0; i < _inputValues.Length; i++)
            {
                _inputValues[i]?.Dispose();
                _inputValues[i] = null!;
            }
            for (var i = 0; i < _outputValues.Length; i++)
            {
                _outputValues[i]?.Dispose();
                _outputValues[i] = null!;
            }
            for (var i = 0; i < pinned; i++)
            {
                _handles[i].Dispose();
            }
        }
    }

    /// <summary>
    /// Binds the pinned input and output values (the caller's tensors: nothing is copied on our side; on a GPU,
    /// ORT copies host inputs to the device and device outputs straight into the bound host buffers) and runs.
    /// </summary>
    private void RunBound(OrtIoBinding binding, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = 0; i < _inputValues.Length; i++)
            {
                binding.BindInput(_inputNames[i], _inputValues[i]);
            }
            for (var o = 0; o < _outputValues.Length; o++)
            {
                binding.BindOutput(_outputNames[o], _outputValues[o]);
            }
            binding.SynchronizeBoundInputs();
            Execute(() => _session.RunWithBinding(_runOptions, binding), cancellationToken);
            binding.SynchronizeBoundOutputs();
        }
        finally
        {
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
        }
    }

    private void Execute(Action run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // RunOptions.Terminate asks ORT to abandon a run in progress at its next check.
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static s => ((RunOptions)s!).Terminate = true, _runOptions)
            : default;
        try
        {
            run();
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            if (_runOptions.Terminate)
            {
                _runOptions.Terminate = false;
            }
        }
    }

    private static unsafe OrtValue CreateValue(Binding b, long[] shape, MemoryHandle handle, int bytes) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, b.ElementType, shape, (IntPtr)handle.Pointer, bytes);

    public void Dispose()
    {
        _binding?.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>How one config tensor maps onto the ONNX graph's tensor of the same name.</summary>
    private sealed class Binding
    {
        private long[] _modelShape = [];

        public string Name { get; private init; } = "";

        public TensorDataType DataType { get; private init; }

        public TensorElementType ElementType { get; private init; }

        public long[] ConfigDims { get; private init; } = [];

        public bool HasReshape { get; private init; }

        /// <summary>Whether the graph's shape is fully known once the batch size is.</summary>
        public bool ModelShapeKnown { get; private init; }

        private bool Batched { get; init; }

        public static Binding Create(ModelTensorConfig c, NodeMetadata node, bool batched)
        {
            var graphDims = node.Dimensions.Select(d => (long)d).ToArray();
            // The shape ORT sees: the reshape target when the config has one, else the graph's own dims with
            // the config filling in what the graph leaves symbolic.
            long[] model = c.Reshape is { } r ? (batched ? [-1, .. r] : [.. r]) : graphDims;
            if (c.Reshape is null)
            {
                var offset = batched ? 1 : 0;
                for (var d = offset; d < model.Length && d - offset < c.Dims.Length; d++)
                {
                    if (model[d] < 0)
                    {
                        model[d] = c.Dims[d - offset];
                    }
                }
            }
            return new Binding
            {
                Name = c.Name,
                DataType = c.DataType,
                ElementType = OrtTypes.ToOrt(c.DataType),
                ConfigDims = c.Dims,
                HasReshape = c.Reshape is not null,
                Batched = batched,
                _modelShape = model,
                ModelShapeKnown = model.Skip(batched ? 1 : 0).All(d => d >= 0),
            };
        }

        /// <summary>The graph-side shape for this call (reused array: ORT copies shapes when creating a value).</summary>
        public long[] ModelShape(int batch, Tensor tensor)
        {
            if (!HasReshape && !ModelShapeKnown)
            {
                return tensor.ShapeArray();
            }
            if (Batched)
            {
                _modelShape[0] = batch;
            }
            return _modelShape;
        }

        /// <summary>The caller-side shape of an output: config dims when reshaped, else the graph's.</summary>
        public long[] ResultShape(int batch)
        {
            if (HasReshape)
            {
                return Batched ? [batch, .. ConfigDims] : [.. ConfigDims];
            }
            var shape = (long[])_modelShape.Clone();
            if (Batched)
            {
                shape[0] = batch;
            }
            return shape;
        }
    }
}
