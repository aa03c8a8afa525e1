using Histoscale.Inference.Config;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>
/// A model served by a KServe v2 server (ours or Triton) seen as an <see cref="IInferenceBackend"/>. Holds what both
/// transports share: the model's metadata and config read from the server at creation, input conversion to the
/// model's datatypes (UINT8 tiles travel as UINT8 when the model takes UINT8), a concurrency limit equal to
/// <see cref="InstanceCount"/> so a pipeline keeps that many requests in flight, and bounded retries of
/// "unavailable" answers. Transports implement one attempt.
/// </summary>
public abstract class KServeBackend : IInferenceBackend
{
    private readonly SemaphoreSlim _slots;
    private readonly Polly.ResiliencePipeline _retry;
    private BackendMetadata? _metadata;
    private ModelConfig? _config;

    private protected KServeBackend(Uri server, string modelName, string? version, RemoteBackendOptions options)
    {
        if (options.Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "concurrency must be at least 1");
        }
        Server = server;
        ModelName = modelName;
        RequestedVersion = string.IsNullOrEmpty(version) ? null : version;
        Options = options;
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        _retry = RemoteRetry.Create(options);
    }

    /// <summary>The server URL as given (grpc://HOST:PORT or http://HOST:PORT).</summary>
    public Uri Server { get; }

    /// <summary>The model's name on the server.</summary>
    public string ModelName { get; }

    /// <summary>The version asked for; null = the server's default (latest ready).</summary>
    public string? RequestedVersion { get; }

    /// <summary>Concurrency, retry and timeout settings.</summary>
    public RemoteBackendOptions Options { get; }

    /// <summary>The model's KServe v2 metadata as read from the server at creation.</summary>
    public BackendMetadata Metadata => _metadata ?? throw new InvalidOperationException("backend not initialised");

    /// <summary>The model's config as the server reports it (parameters include Histoscale's histoscale.* block).</summary>
    public ModelConfig Config => _config ?? throw new InvalidOperationException("backend not initialised");

    /// <summary>Requests kept in flight at once: <see cref="RemoteBackendOptions.Concurrency"/>.</summary>
    public int InstanceCount => Options.Concurrency;

    /// <summary>Cumulative client-side send and receive times of this backend's requests.</summary>
    public RemoteTimings Timings { get; } = new();

    /// <summary>The server's cumulative statistics for this model version (Triton's statistics extension).</summary>
    public abstract Task<InferenceStatisticsSnapshot> GetServerStatisticsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Converts inputs to the model's datatypes where needed, validates them, waits for one of
    /// <see cref="InstanceCount"/> slots and sends the request, retrying "unavailable" answers within
    /// <see cref="RemoteBackendOptions.MaxAttempts"/>. The caller owns the returned outputs. Thread-safe.
    /// </summary>
    /// <exception cref="InferenceRequestException">The inputs do not fit the model, here or as the server judges them.</exception>
    /// <exception cref="InferenceUnavailableException">The server stayed unavailable through every attempt.</exception>
    /// <exception cref="RemoteInferenceException">The server answered with another error.</exception>
    public async ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
    {
        var metadata = Metadata;
        List<Tensor>? converted = null;
        var send = inputs;
        try
        {
            if (inputs.Any(item => NeedsConversion(metadata, item)))
            {
                // A new set over the caller's tensors plus converted copies; only the copies are ours to dispose.
                send = new TensorSet(inputs.Count);
                converted = [];
                foreach (var item in inputs)
                {
                    if (NeedsConversion(metadata, item))
                    {
                        var c = TensorConversion.Convert(item.Tensor, metadata.Inputs.First(s => s.Name == item.Name).DataType);
                        converted.Add(c);
                        send.Add(item.Name, c);
                    }
                    else
                    {
                        send.Add(item.Name, item.Tensor);
                    }
                }
            }
            // Fail fast, with the server's own wording, before anything travels.
            InputValidator.Validate(metadata, send);
            if (!_slots.Wait(0))
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            try
            {
                return await _retry.ExecuteAsync(ct => SendAsync(send, ct), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            if (converted is not null)
            {
                foreach (var c in converted)
                {
                    c.Dispose();
                }
            }
        }
    }

    /// <summary>Closes the connection to the server.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>Reads metadata and config from the server, retrying while it is unavailable.</summary>
    /// <summary>Initialises a new backend, disposing it (connections included) when that fails.</summary>
    private protected static async Task<T> InitializeOrDisposeAsync<T>(T backend, CancellationToken cancellationToken) where T : KServeBackend
    {
        try
        {
            await backend.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return backend;
        }
        catch
        {
            await backend.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private protected async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var (config, metadata) = await _retry.ExecuteAsync(ReadModelAsync, cancellationToken).ConfigureAwait(false);
        _config = config;
        _metadata = metadata;
    }

    /// <summary>One attempt at reading the model's config and metadata.</summary>
    private protected abstract ValueTask<(ModelConfig Config, BackendMetadata Metadata)> ReadModelAsync(CancellationToken cancellationToken);

    /// <summary>
    /// One inference attempt. Throws <see cref="InferenceUnavailableException"/> for answers worth retrying,
    /// <see cref="InferenceRequestException"/> for the request's faults, <see cref="RemoteInferenceException"/> otherwise.
    /// </summary>
    private protected abstract ValueTask<TensorSet> SendAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken);

    /// <summary>Builds metadata from the server's view: tensor specs from model metadata, batching from the config.</summary>
    private protected static BackendMetadata BuildMetadata(ModelConfig config, string name, string version, string platform, IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        foreach (var spec in inputs.Concat(outputs))
        {
            if (spec.DataType == TensorDataType.Bytes)
            {
                throw new ModelConfigException($"tensor '{spec.Name}' is BYTES, which Histoscale's remote backend cannot send or receive", model: name);
            }
        }
        return new BackendMetadata(name, version, platform.Length > 0 ? platform : config.Platform, config.MaxBatchSize, inputs, outputs);
    }

    /// <summary>The latest numeric version in a metadata "versions" list (Triton lists the ready ones).</summary>
    private protected static string LatestVersion(IEnumerable<string> versions) =>
        versions.OrderBy(v => long.TryParse(v, out var n) ? n : long.MinValue).LastOrDefault() ?? "";

    private static bool NeedsConversion(BackendMetadata metadata, NamedTensor item) =>
        metadata.Inputs.FirstOrDefault(s => s.Name == item.Name) is { } spec
        && spec.DataType != item.Tensor.DataType
        && TensorConversion.CanConvert(item.Tensor.DataType, spec.DataType);
}
