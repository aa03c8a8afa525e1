using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.Inference;
using ModelConfig = Histoscale.Inference.Config.ModelConfig;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;

namespace Histoscale.KServe;

/// <summary>
/// A model on a KServe v2 gRPC server (<c>grpc://HOST:8001</c>): inputs travel as <c>raw_input_contents</c>
/// wrapping the caller's tensor memory (no copy), outputs come back as views of <c>raw_output_contents</c>. One
/// channel multiplexes the concurrent requests over HTTP/2 (extra connections open when a connection's stream limit
/// is reached); a channel reconnects by itself after a server restart, and the requests that failed meanwhile are
/// retried as UNAVAILABLE.
/// </summary>
public sealed class KServeGrpcBackend : KServeBackend
{
    private const int Alignment = 64;
    private readonly GrpcChannel _channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;
    private readonly SharedMemorySlots _slots = new();

    private KServeGrpcBackend(Uri server, string modelName, string? version, RemoteBackendOptions options)
        : base(server, modelName, version, options)
    {
        _channel = CreateChannel(server, options);
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    /// <summary>
    /// Connects to <paramref name="server"/> (the http(s) address of the gRPC port; see <see cref="ServerAddress"/>),
    /// retrying while it is unavailable, and reads the model's metadata and config.
    /// </summary>
    public static Task<KServeGrpcBackend> CreateAsync(Uri server, string modelName, string? version = null, RemoteBackendOptions? options = null, CancellationToken cancellationToken = default)
        => InitializeOrDisposeAsync(new KServeGrpcBackend(server, modelName, version, options ?? new RemoteBackendOptions()), cancellationToken);

    /// <summary>The generated client, for callers that need RPCs beyond inference (health, repository).</summary>
    internal GRPCInferenceService.GRPCInferenceServiceClient Client => _client;

    /// <summary>A channel tuned for tile batches: no message size limit, large HTTP/2 windows, keep-alive pings.</summary>
    public static GrpcChannel CreateChannel(Uri server, RemoteBackendOptions options)
    {
        var address = server.Scheme is "grpc" or "grpcs" ? ServerAddress.Parse(server.OriginalString).Address : server;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            InitialHttp2StreamWindowSize = 8 * 1024 * 1024,
            AutomaticDecompression = DecompressionMethods.None,
        };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
    }

    /// <inheritdoc />
    public override async Task<InferenceStatisticsSnapshot> GetServerStatisticsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _client.ModelStatisticsAsync(
                new ModelStatisticsRequest { Name = ModelName, Version = Metadata.Version }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var stats = response.ModelStats.FirstOrDefault()
                ?? throw new RemoteInferenceException("NOT_FOUND", $"server returned no statistics for model '{ModelName}'");
            return StatisticsConverter.FromProto(stats);
        }
        catch (RpcException ex)
        {
            throw GrpcStatusMapping.ToException(ex, $"statistics of model '{ModelName}'");
        }
    }

    /// <summary>Unregisters and deletes this backend's shared-memory regions, then disposes the gRPC channel.</summary>
    public override async ValueTask DisposeAsync()
    {
        foreach (var slot in _slots.All)
        {
            await UnregisterQuietlyAsync(slot).ConfigureAwait(false);
            _slots.Forget(slot);
        }
        _channel.Dispose();
    }

    private async Task UnregisterQuietlyAsync(SharedMemorySlot slot)
    {
        if (!slot.Registered)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = slot.Name }, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            // The server is gone or restarting: it dropped (or will drop) the region itself.
        }
        slot.Registered = false;
    }

    private protected override async ValueTask<(ModelConfig Config, BackendMetadata Metadata)> ReadModelAsync(CancellationToken cancellationToken)
    {
        try
        {
            var version = RequestedVersion ?? "";
            var meta = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = ModelName, Version = version }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var config = ModelConfigConverter.FromProto(
                (await _client.ModelConfigAsync(new ModelConfigRequest { Name = ModelName, Version = version }, cancellationToken: cancellationToken).ConfigureAwait(false)).Config);
            var metadata = BuildMetadata(
                config,
                meta.Name,
                RequestedVersion ?? LatestVersion(meta.Versions),
                meta.Platform,
                [.. meta.Inputs.Select(t => Spec(t.Name, t.Datatype, t.Shape))],
                [.. meta.Outputs.Select(t => Spec(t.Name, t.Datatype, t.Shape))]);
            return (config, metadata);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            throw new ModelConfigException($"server {Server} does not serve it: {ex.Status.Detail}", model: ModelName);
        }
        catch (RpcException ex)
        {
            throw GrpcStatusMapping.ToException(ex, $"model '{ModelName}' on {Server}");
        }
    }

    private protected override async ValueTask<TensorSet> SendAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken)
    {
        if (Options.SharedMemory == SharedMemoryMode.System)
        {
            return await SendBySharedMemoryAsync(inputs, cancellationToken).ConfigureAwait(false);
        }
        var start = Stopwatch.GetTimestamp();
        var request = new ModelInferRequest { ModelName = ModelName, ModelVersion = RequestedVersion ?? "" };
        foreach (var (name, tensor) in inputs)
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = tensor.DataType.ToKServeName() };
            foreach (var d in tensor.Shape)
            {
                input.Shape.Add(d);
            }
            request.Inputs.Add(input);
            // The caller keeps the tensor alive until this call completes, so the bytes can be sent in place.
            request.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(tensor.Memory));
        }
        var sent = Stopwatch.GetTimestamp();
        var response = await InferAsync(request, null, cancellationToken).ConfigureAwait(false);
        var received = Stopwatch.GetTimestamp();
        var outputs = ReadOutputs(response);
        Timings.Record(sent - start, Stopwatch.GetTimestamp() - received);
        return outputs;
    }

    /// <summary>
    /// The inputs copied into a registered shared-memory slot (one copy, as into a batch tensor in process), the
    /// outputs written by the server after them and copied out into pooled tensors; only names and shapes travel.
    /// Outputs whose size is not known before the call (variable dimensions other than the batch) come back in the message.
    /// </summary>
    private async ValueTask<TensorSet> SendBySharedMemoryAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var metadata = Metadata;
        var batch = metadata.IsBatched && inputs.Count > 0 && inputs[0].Tensor.Rank > 0 ? inputs[0].Tensor.Shape[0] : 1;
        var layout = new List<(string Name, long Offset, long Size)>(inputs.Count + metadata.Outputs.Count);
        long next = 0;
        foreach (var (name, tensor) in inputs)
        {
            layout.Add((name, next, tensor.ByteLength));
            next = Align(next + tensor.ByteLength);
        }
        var outputsAt = layout.Count;
        foreach (var spec in metadata.Outputs)
        {
            if (OutputBytes(spec, batch, metadata.IsBatched) is { } size)
            {
                layout.Add((spec.Name, next, size));
                next = Align(next + size);
            }
        }
        var needed = Math.Max(next, Alignment);
        var slot = _slots.TryTake();
        if (slot is not null && slot.ByteSize < needed)
        {
            await UnregisterQuietlyAsync(slot).ConfigureAwait(false);
            _slots.Forget(slot);
            slot = null;
        }
        slot ??= _slots.Create(needed);
        var keep = false;
        try
        {
            if (!slot.Registered)
            {
                try
                {
                    await _client.SystemSharedMemoryRegisterAsync(
                        new SystemSharedMemoryRegisterRequest { Name = slot.Name, Key = slot.Key, Offset = 0, ByteSize = (ulong)slot.ByteSize },
                        cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException ex)
                {
                    throw GrpcStatusMapping.ToException(ex, $"registering shared memory region '{slot.Name}' ({slot.Path}) for model '{ModelName}' (is the server on this host, with the same /dev/shm?)");
                }
                slot.Registered = true;
            }
            var request = new ModelInferRequest { ModelName = ModelName, ModelVersion = RequestedVersion ?? "" };
            for (var i = 0; i < inputs.Count; i++)
            {
                var (name, tensor) = inputs[i];
                var (_, offset, size) = layout[i];
                tensor.Memory.Span.CopyTo(slot.Span(offset, (int)size));
                var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = tensor.DataType.ToKServeName() };
                foreach (var d in tensor.Shape)
                {
                    input.Shape.Add(d);
                }
                input.Parameters[RegionParameter] = new InferParameter { StringParam = slot.Name };
                input.Parameters[OffsetParameter] = new InferParameter { Int64Param = offset };
                input.Parameters[ByteSizeParameter] = new InferParameter { Int64Param = size };
                request.Inputs.Add(input);
            }
            foreach (var spec in metadata.Outputs)
            {
                var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = spec.Name };
                var placed = layout.Skip(outputsAt).FirstOrDefault(l => l.Name == spec.Name);
                if (placed.Name is not null)
                {
                    output.Parameters[RegionParameter] = new InferParameter { StringParam = slot.Name };
                    output.Parameters[OffsetParameter] = new InferParameter { Int64Param = placed.Offset };
                    output.Parameters[ByteSizeParameter] = new InferParameter { Int64Param = placed.Size };
                }
                request.Outputs.Add(output);
            }
            var sent = Stopwatch.GetTimestamp();
            var response = await InferAsync(request, ex =>
            {
                if (ex.StatusCode == StatusCode.InvalidArgument && ex.Status.Detail.Contains($"Unable to find shared memory region: '{slot.Name}'", StringComparison.Ordinal))
                {
                    // The server lost the region (it restarted): the retry registers it again.
                    slot.Registered = false;
                    return new InferenceUnavailableException($"inference on model '{ModelName}': the server no longer has shared memory region '{slot.Name}' (restarted?); registering it again");
                }
                return null;
            }, cancellationToken).ConfigureAwait(false);
            var received = Stopwatch.GetTimestamp();
            var outputs = ReadOutputs(response, slot, layout.Skip(outputsAt).ToList());
            Timings.Record(sent - start, Stopwatch.GetTimestamp() - received);
            keep = true;
            return outputs;
        }
        finally
        {
            if (keep || slot.Registered)
            {
                _slots.Return(slot);
            }
            else
            {
                _slots.Forget(slot);
            }
        }
    }

    private const string RegionParameter = "shared_memory_region";
    private const string OffsetParameter = "shared_memory_offset";
    private const string ByteSizeParameter = "shared_memory_byte_size";

    private static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    /// <summary>An output's bytes for a batch, or null when a dimension other than the batch is variable.</summary>
    private static long? OutputBytes(TensorSpec spec, long batch, bool batched)
    {
        var shape = spec.Shape.ToArray();
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
            {
                if (i == 0 && batched)
                {
                    shape[i] = batch;
                }
                else
                {
                    return null;
                }
            }
        }
        return Tensor.ByteLengthOf(spec.DataType, shape);
    }

    /// <summary>Outputs from the slot (copied into pooled tensors) or, for those not placed there, from the message.</summary>
    private static TensorSet ReadOutputs(ModelInferResponse response, SharedMemorySlot slot, IReadOnlyList<(string Name, long Offset, long Size)> placed)
    {
        var set = new TensorSet(response.Outputs.Count);
        try
        {
            for (var i = 0; i < response.Outputs.Count; i++)
            {
                var o = response.Outputs[i];
                if (!DataTypes.TryParseKServeName(o.Datatype, out var type) || type == TensorDataType.Bytes)
                {
                    throw new RemoteInferenceException("INTERNAL", $"output '{o.Name}' has unsupported datatype '{o.Datatype}'");
                }
                var shape = o.Shape.ToArray();
                var at = placed.FirstOrDefault(p => p.Name == o.Name);
                if (at.Name is null || !o.Parameters.ContainsKey(RegionParameter))
                {
                    var bytes = i < response.RawOutputContents.Count ? response.RawOutputContents[i].Memory : default;
                    set.Add(o.Name, bytes.Length > 0 || Tensor.ByteLengthOf(type, shape) == 0
                        ? Tensor.Wrap(type, shape, MemoryMarshal.AsMemory(bytes))
                        : TypedContents.Read(o.Contents, type, shape, o.Name));
                    continue;
                }
                var length = Tensor.ByteLengthOf(type, shape);
                if (length > at.Size)
                {
                    throw new RemoteInferenceException("INTERNAL", $"output '{o.Name}' has {length} bytes for {o.Datatype}[{string.Join(',', shape)}], more than its {at.Size}-byte place in shared memory");
                }
                var tensor = Tensor.Rent(type, shape);
                slot.Span(at.Offset, length).CopyTo(tensor.Bytes);
                set.Add(o.Name, tensor);
            }
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    private static TensorSet ReadOutputs(ModelInferResponse response)
    {
        var set = new TensorSet(response.Outputs.Count);
        try
        {
            for (var i = 0; i < response.Outputs.Count; i++)
            {
                var o = response.Outputs[i];
                if (!DataTypes.TryParseKServeName(o.Datatype, out var type) || type == TensorDataType.Bytes)
                {
                    throw new RemoteInferenceException("INTERNAL", $"output '{o.Name}' has unsupported datatype '{o.Datatype}'");
                }
                var shape = o.Shape.ToArray();
                if (i < response.RawOutputContents.Count)
                {
                    var bytes = response.RawOutputContents[i].Memory;
                    if (bytes.Length != Tensor.ByteLengthOf(type, shape))
                    {
                        throw new RemoteInferenceException("INTERNAL", $"output '{o.Name}' has {bytes.Length} bytes for {o.Datatype}[{string.Join(',', shape)}]");
                    }
                    // A view of the response's buffer: no copy; the GC keeps it alive as long as the tensor.
                    set.Add(o.Name, Tensor.Wrap(type, shape, MemoryMarshal.AsMemory(bytes)));
                }
                else
                {
                    set.Add(o.Name, TypedContents.Read(o.Contents, type, shape, o.Name));
                }
            }
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    private static TensorSpec Spec(string name, string datatype, IEnumerable<long> shape) =>
        DataTypes.TryParseKServeName(datatype, out var type)
            ? new TensorSpec(name, type, [.. shape])
            : throw new ModelConfigException($"tensor '{name}' has unknown datatype '{datatype}'");

    /// <summary>
    /// One ModelInfer call under the request timeout: cancellation stays cancellation, other failures become the typed
    /// inference errors (<paramref name="refine"/> may claim one first, e.g. a lost shared-memory region).
    /// </summary>
    private async Task<ModelInferResponse> InferAsync(ModelInferRequest request, Func<RpcException, Exception?>? refine, CancellationToken cancellationToken)
    {
        var deadline = Options.RequestTimeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        try
        {
            return await _client.ModelInferAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw refine?.Invoke(ex) ?? GrpcStatusMapping.ToException(ex, $"inference on model '{ModelName}'");
        }
    }
}
