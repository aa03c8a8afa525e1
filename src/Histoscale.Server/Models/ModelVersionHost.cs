using System.Globalization;
using Histoscale.Inference;
using Histoscale.Inference.Models;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Scheduling;

namespace Histoscale.Server.Models;

/// <summary>
/// One loaded model version: its description, backend (ONNX Runtime sessions, one per instance_group instance) and
/// the dynamic batcher in front of it, which owns queueing, batching and statistics. Every transport sends its
/// requests through <see cref="Batcher"/>.
/// </summary>
internal sealed class ModelVersionHost : IAsyncDisposable
{
    private int _disposed;

    internal ModelVersionHost(ModelDescription description, IInferenceBackend backend, DynamicBatcher batcher)
    {
        Description = description;
        Backend = backend;
        Batcher = batcher;
        VersionText = description.Version.ToString(CultureInfo.InvariantCulture);
        ConfigProto = ModelConfigConverter.ToProto(description.Config);
    }

    public string Name => Description.Name;

    public long Version => Description.Version;

    /// <summary>The version as the protocol writes it ("1").</summary>
    public string VersionText { get; }

    public ModelDescription Description { get; }

    public BackendMetadata Metadata => Backend.Metadata;

    public IInferenceBackend Backend { get; }

    public DynamicBatcher Batcher { get; }

    /// <summary>The config in wire form (what /config and ModelConfig return), made once at load.</summary>
    public KServe.Protocol.ModelConfig ConfigProto { get; }

    public InferenceStatistics Statistics => Batcher.Statistics;

    /// <summary>Stops taking requests, lets queued and running ones finish, then frees the sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await Batcher.DrainAsync().ConfigureAwait(false);
        await Backend.DisposeAsync().ConfigureAwait(false);
    }
}
