using Histoscale.Inference;
using Histoscale.Inference.Models;

namespace Histoscale.Archive;

/// <summary>
/// Creates the backend a job runs <paramref name="model"/> on (the host's choice: ONNX Runtime in-process on its
/// device, for <c>serve</c>). The archive disposes it when the job ends.
/// </summary>
/// <param name="model">The repository model version the job runs, with the job's overrides applied.</param>
/// <param name="batch">Tiles per batch the job asks for.</param>
public delegate IInferenceBackend ArchiveBackendFactory(ModelDescription model, int batch);

/// <summary>
/// How the archive runs model jobs (<c>POST /api/v1/jobs</c>): in its own process, by the same pipeline as
/// <c>infer</c>, on models of <see cref="ArchiveOptions.ModelRepository"/>, writing under
/// <see cref="ArchiveOptions.ResultsDirectory"/> so that results become overlays of their slides.
/// </summary>
public sealed record ArchiveJobOptions
{
    /// <summary>Makes each job's inference backend.</summary>
    public required ArchiveBackendFactory Backends { get; init; }

    /// <summary>Jobs run at once; the others wait in state <c>queued</c>.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>
    /// Most jobs queued or running at once on this server; a submit beyond it is refused (HTTP 429) until some end.
    /// </summary>
    public int QueueLimit { get; init; } = 100;

    /// <summary>Extra facts for each slide's run.json (device, runtime version...).</summary>
    public IReadOnlyDictionary<string, object?> Environment { get; init; } = new Dictionary<string, object?>();
}
