using Histoscale.Inference;
using Histoscale.Inference.Models;
using Histoscale.Workers.Jobs;

namespace Histoscale.Workers.Running;

/// <summary>A model ready to run: its description and the backend that runs it (owned: disposed with this).</summary>
public sealed class JobModel(ModelDescription description, IInferenceBackend backend) : IAsyncDisposable
{
    /// <summary>What the model expects and returns.</summary>
    public ModelDescription Description { get; } = description;

    /// <summary>In-process or remote backend.</summary>
    public IInferenceBackend Backend { get; } = backend;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Backend.DisposeAsync();

    /// <summary>
    /// Which jobs can share one loaded model: same model, version and every setting that changes how it is loaded or
    /// described (tile size, normalisation, classes, batch, device).
    /// </summary>
    public static string KeyOf(SlideJob job)
    {
        var p = job.Parameters;
        return string.Join('|', job.Model, job.ModelVersion, p.Device, p.Batch, p.TileSize, p.Mpp,
            p.Mean is null ? "" : string.Join(',', p.Mean), p.Std is null ? "" : string.Join(',', p.Std),
            p.Classes is null ? "" : string.Join(',', p.Classes));
    }
}

/// <summary>
/// Loads the model a job names, the way the host runs models (ONNX Runtime in-process, or a KServe server):
/// the worker calls it once per distinct <see cref="JobModel.KeyOf"/> and keeps the result while it runs.
/// </summary>
/// <returns>The loaded model; throws a *ConfigException when the model cannot be used (the job then fails with that message).</returns>
public delegate Task<JobModel> JobModelLoader(SlideJob job, ModelOverrides overrides, CancellationToken cancellationToken);
