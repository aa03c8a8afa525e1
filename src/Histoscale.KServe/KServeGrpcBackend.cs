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
    private readonly GrpcChannel _channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

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

    /// <summary>Disposes the gRPC channel.</summary>
    public override async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await Task.CompletedTask.ConfigureAwait(false);
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
        var deadline = Options.RequestTimeout is { } t ? DateTime.UtcNow + t : (DateTime?)null;
        var sent = Stopwatch.GetTimestamp();
        ModelInferResponse response;
        try
        {
            response = await _client.ModelInferAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw GrpcStatusMapping.ToException(ex, $"inference on model '{ModelName}'");
        }
        var received = Stopwatch.GetTimestamp();
        var outputs = ReadOutputs(response);
        Timings.Record(sent - start, Stopwatch.GetTimestamp() - received);
        return outputs;
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
}
