using System.Collections.Concurrent;
using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;
using Tensor = Histoscale.Inference.Tensors.Tensor;

namespace Histoscale.Inference.OnnxRuntime;

/// <summary>
/// In-process ONNX Runtime backend: N sessions over one model (Triton's instance_group count), each with
/// cores / N intra-op threads, sharing pre-packed weights; every instance runs a warm-up batch at load.
/// On the CPU the sessions are created at the same time, one thread each (ONNX Runtime serializes only the
/// pre-packing, which the later sessions then reuse); on a GPU one after the other (a TensorRT engine cache is
/// built by the first and read by the others). <see cref="Start"/> returns while they load, so a caller can do its
/// own start-up work meanwhile; <see cref="Create"/> waits for them.
/// <see cref="ExecuteAsync"/> takes a free instance (waiting if all are busy or still loading) and runs the batch on
/// the calling thread.
/// </summary>
public sealed class OnnxRuntimeBackend : IInferenceBackend
{
    private readonly OnnxSessionInstance?[] _instances;
    private readonly ConcurrentBag<OnnxSessionInstance> _free = [];
    private readonly SemaphoreSlim _available;
    private readonly PrePackedWeightsContainer _prepacked;
    private Task _ready = Task.CompletedTask;
    private int _disposed;

    private OnnxRuntimeBackend(ModelDescription model, int count, PrePackedWeightsContainer prepacked, int threads, OnnxRuntimeOptions options)
    {
        Model = model;
        Metadata = model.Metadata;
        _instances = new OnnxSessionInstance?[count];
        _available = new SemaphoreSlim(count, count);
        _prepacked = prepacked;
        IntraOpThreads = threads;
        Options = options;
    }

    /// <inheritdoc />
    public BackendMetadata Metadata { get; }

    /// <summary>The model the sessions run.</summary>
    public ModelDescription Model { get; }

    /// <summary>The options the backend was created with.</summary>
    public OnnxRuntimeOptions Options { get; }

    /// <summary>Number of ONNX Runtime sessions; as many batches can run at once.</summary>
    public int InstanceCount => _instances.Length;

    /// <summary>
    /// Whether the instances run batches through IO binding (see <see cref="OnnxRuntimeOptions.IoBinding"/>); known
    /// once <see cref="Ready"/> has completed (before, what the options ask for).
    /// </summary>
    public bool UsesIoBinding => _instances[0]?.UsesIoBinding ?? Options.UsesIoBinding;

    /// <summary>Intra-op threads each instance got.</summary>
    public int IntraOpThreads { get; }

    /// <summary>
    /// Completes when every session is created and warmed up; faults with the first instance's
    /// <see cref="DeviceConfigException"/> or <see cref="ModelConfigException"/> when one cannot be.
    /// </summary>
    public Task Ready => _ready;

    /// <summary>
    /// Creates the sessions and warms them up. Throws <see cref="DeviceConfigException"/> when the device is not
    /// usable and <see cref="ModelConfigException"/> when ORT rejects the model.
    /// </summary>
    public static OnnxRuntimeBackend Create(ModelDescription model, OnnxRuntimeOptions? options = null)
    {
        var backend = Start(model, options);
        try
        {
            backend.Ready.GetAwaiter().GetResult();
        }
        catch
        {
            backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return backend;
    }

    /// <summary>
    /// Starts creating and warming up the sessions on threads of their own and returns at once; <see cref="Ready"/>
    /// says when they are done (or why they cannot be). <see cref="ExecuteAsync"/> waits for them, and throws
    /// <see cref="Ready"/>'s error when they failed; disposing waits for them too.
    /// </summary>
    public static OnnxRuntimeBackend Start(ModelDescription model, OnnxRuntimeOptions? options = null)
    {
        options ??= new OnnxRuntimeOptions();
        var count = Math.Max(1, options.Instances ?? model.Config.InstanceCount);
        var cores = Math.Max(1, options.Cores ?? Environment.ProcessorCount);
        var threads = Math.Max(1, options.IntraOpThreads ?? (cores / count));
        var backend = new OnnxRuntimeBackend(model, count, new PrePackedWeightsContainer(), threads, options);
        backend._ready = backend.LoadAsync(options.Device == InferenceDevice.Cpu);
        return backend;
    }

    /// <summary>Creates and warms every instance (all at once, or one after the other), then makes them available.</summary>
    private async Task LoadAsync(bool parallel)
    {
        if (parallel && _instances.Length > 1)
        {
            var loading = new Task[_instances.Length];
            for (var i = 0; i < loading.Length; i++)
            {
                var index = i;
                loading[i] = Task.Factory.StartNew(() => LoadInstance(index), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            try
            {
                await Task.WhenAll(loading).ConfigureAwait(false);
            }
            catch
            {
                // The first instance's error (in instance order), as when they were created one after the other.
                var failed = loading.First(t => t.IsFaulted);
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed.Exception!.InnerException!);
            }
        }
        else
        {
            await Task.Factory.StartNew(() =>
            {
                for (var i = 0; i < _instances.Length; i++)
                {
                    LoadInstance(i);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        foreach (var instance in _instances)
        {
            _free.Add(instance!);
        }
    }

    private void LoadInstance(int index)
    {
        var instance = new OnnxSessionInstance(CreateSession(Model, Options, IntraOpThreads, _prepacked), Model.Config, Options.ArenaShrinkage && Options.EnableCpuMemArena, Options.UsesIoBinding);
        _instances[index] = instance;
        WarmUp(instance, Options.WarmupBatchSize);
    }

    /// <summary>Loads <c>--model</c> (repository dir or .onnx) and creates the backend in one step.</summary>
    public static OnnxRuntimeBackend Load(string model, ModelOverrides? overrides = null, OnnxRuntimeOptions? options = null) =>
        Create(ModelDescription.Load(model, overrides), options);

    /// <summary>
    /// Validates <paramref name="inputs"/> against the model's metadata, waits for a free session and runs the batch on
    /// the calling thread. The caller owns the returned outputs. Thread-safe.
    /// </summary>
    /// <exception cref="InferenceRequestException">An input is missing or has the wrong datatype or shape.</exception>
    /// <exception cref="ObjectDisposedException">The backend has been disposed.</exception>
    public async ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var batch = InputValidator.Validate(Metadata, inputs);
        if (!_ready.IsCompletedSuccessfully)
        {
            // Still loading (after Start): wait for the sessions, or throw why they could not be created.
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        if (!_available.Wait(0))
        {
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        _free.TryTake(out var instance);
        try
        {
            return instance!.Run(inputs, batch, cancellationToken);
        }
        finally
        {
            _free.Add(instance!);
            _available.Release();
        }
    }

    /// <summary>Waits for running batches to finish, then frees the native sessions. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            // Sessions still being created are finished (ONNX Runtime cannot stop that) before they are freed.
            await _ready.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Why loading failed was reported by Ready (or Create); what was created is freed below all the same.
        }
        // Wait for running batches to hand their instances back before freeing native sessions.
        for (var i = 0; i < _instances.Length; i++)
        {
            await _available.WaitAsync().ConfigureAwait(false);
        }
        foreach (var instance in _instances)
        {
            instance?.Dispose();
        }
        _prepacked.Dispose();
        _available.Dispose();
    }

    private static InferenceSession CreateSession(ModelDescription model, OnnxRuntimeOptions options, int threads, PrePackedWeightsContainer prepacked)
    {
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            EnableCpuMemArena = options.EnableCpuMemArena,
            EnableMemoryPattern = options.EnableMemoryPattern,
        };
        if (!options.AllowSpinning)
        {
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        ExecutionProviders.Append(so, options.Device, options.DeviceId, options.Gpu);
        try
        {
            return new InferenceSession(model.ModelPath, so, prepacked);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelConfigException($"ONNX Runtime cannot create a session: {ex.Message}", model: model.Name, file: model.ModelPath, inner: ex);
        }
    }

    private void WarmUp(OnnxSessionInstance instance, int batchSize)
    {
        if (batchSize <= 0)
        {
            return;
        }
        batchSize = Metadata.IsBatched ? Math.Min(batchSize, Metadata.MaxBatchSize) : 1;
        using var inputs = WarmupInputs(batchSize);
        if (inputs is null)
        {
            return; // variable non-batch dims and no tile size: nothing sensible to warm up with
        }
        instance.Run(inputs, batchSize, CancellationToken.None).Dispose();
    }

    private TensorSet? WarmupInputs(int batchSize)
    {
        var set = new TensorSet(Metadata.Inputs.Count);
        foreach (var spec in Metadata.Inputs)
        {
            var shape = (long[])spec.Shape.Clone();
            if (Metadata.IsBatched)
            {
                shape[0] = batchSize;
            }
            for (var d = Metadata.IsBatched ? 1 : 0; d < shape.Length; d++)
            {
                if (shape[d] >= 0)
                {
                    continue;
                }
                var isImageSpatial = spec.Name == Model.ImageInput.Name && shape.Length == 4 &&
                    (Model.Layout == TensorFormat.Nhwc ? d is 1 or 2 : d is 2 or 3);
                if (!isImageSpatial || Model.TileSize is not { } tile)
                {
                    set.Dispose();
                    return null;
                }
                shape[d] = tile;
            }
            if (spec.DataType.ElementSize() == 0)
            {
                set.Dispose();
                return null;
            }
            set.Add(spec.Name, Tensor.Rent(spec.DataType, shape, clear: true));
        }
        return set;
    }
}
