using Histoscale.Inference.Tensors;

namespace Histoscale.Inference;

/// <summary>
/// Executes one batch on a loaded model — the whole contract, like Triton's backend API: the caller (the
/// <see cref="Scheduling.DynamicBatcher"/>, used by the pipeline and the server) owns queueing, batching and
/// statistics. A backend knows nothing of slides: named tensors in, named tensors out.
/// </summary>
public interface IInferenceBackend : IAsyncDisposable
{
    /// <summary>Model name, version, platform, batching limit and input/output specs.</summary>
    BackendMetadata Metadata { get; }

    /// <summary>How many batches can execute at once (Triton's instance_group count); more calls wait for a free instance.</summary>
    int InstanceCount { get; }

    /// <summary>
    /// Runs one batch. <paramref name="inputs"/> holds every model input (batch dimension first, 1 ≤ N ≤ MaxBatchSize
    /// for batched models; a partial batch is fine) and stays owned by the caller. The returned set holds every model
    /// output with the same N and is owned by the caller, who disposes it to return pooled memory.
    /// Throws <see cref="InferenceRequestException"/> when the inputs do not fit the model.
    /// May block the calling thread while computing (in-process backends do); call it from a worker, not a UI loop.
    /// </summary>
    ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default);
}
