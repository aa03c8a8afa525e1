using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Histoscale.Inference;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;
using ModelConfig = Histoscale.Inference.Config.ModelConfig;

namespace Histoscale.KServe;

/// <summary>
/// A model on a KServe v2 HTTP/REST server (<c>http://HOST:8000</c>) using Triton's binary tensor extension: the
/// request is a JSON header plus the inputs' raw bytes written from the tensors, and every output is asked for as
/// binary and read from the response stream straight into pooled tensors. Connections are pooled per server up to
/// the concurrency; a dropped connection is replaced on the next request.
/// </summary>
public sealed class KServeHttpBackend : KServeBackend
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly HttpClient _http;
    private readonly string _modelPath;

    private KServeHttpBackend(Uri server, string modelName, string? version, RemoteBackendOptions options)
        : base(server, modelName, version, options)
    {
        if (options.SharedMemory != SharedMemoryMode.None)
        {
            throw new ArgumentException($"shared memory ({options.SharedMemory}) is supported over gRPC only: use grpc://HOST:8001 for {server}", nameof(options));
        }
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(1, options.Concurrency),
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        _http = new HttpClient(handler) { BaseAddress = new UriBuilder(server) { Path = "/" }.Uri, Timeout = options.RequestTimeout ?? Timeout.InfiniteTimeSpan };
        _modelPath = $"v2/models/{Uri.EscapeDataString(modelName)}" + (RequestedVersion is { } v ? $"/versions/{Uri.EscapeDataString(v)}" : "");
    }

    /// <summary>
    /// Connects to <paramref name="server"/> (<c>http://HOST:PORT</c>; see <see cref="ServerAddress"/>), retrying while
    /// it is unavailable, and reads the model's metadata and config.
    /// </summary>
    public static Task<KServeHttpBackend> CreateAsync(Uri server, string modelName, string? version = null, RemoteBackendOptions? options = null, CancellationToken cancellationToken = default)
        => InitializeOrDisposeAsync(new KServeHttpBackend(server, modelName, version, options ?? new RemoteBackendOptions()), cancellationToken);

    /// <inheritdoc />
    public override async Task<InferenceStatisticsSnapshot> GetServerStatisticsAsync(CancellationToken cancellationToken = default)
    {
        var path = $"v2/models/{Uri.EscapeDataString(ModelName)}/versions/{Uri.EscapeDataString(Metadata.Version)}/stats";
        var json = await GetJsonAsync(path, $"statistics of model '{ModelName}'", cancellationToken).ConfigureAwait(false);
        var response = Parser.Parse<ModelStatisticsResponse>(json);
        var stats = response.ModelStats.FirstOrDefault()
            ?? throw new RemoteInferenceException("404", $"server returned no statistics for model '{ModelName}'");
        return StatisticsConverter.FromProto(stats);
    }

    /// <summary>Disposes the HTTP client.</summary>
    public override ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private protected override async ValueTask<(ModelConfig Config, BackendMetadata Metadata)> ReadModelAsync(CancellationToken cancellationToken)
    {
        string metaJson, configJson;
        try
        {
            metaJson = await GetJsonAsync(_modelPath, $"model '{ModelName}'", cancellationToken).ConfigureAwait(false);
            configJson = await GetJsonAsync(_modelPath + "/config", $"config of model '{ModelName}'", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InferenceRequestException or RemoteInferenceException { Status: "404" })
        {
            throw new ModelConfigException($"server {Server} does not serve it: {ex.Message}", model: ModelName);
        }
        var config = ModelConfigConverter.FromProto(Parser.Parse<Protocol.ModelConfig>(configJson));
        var meta = Parser.Parse<ModelMetadataResponse>(metaJson);
        var metadata = BuildMetadata(
            config,
            meta.Name,
            RequestedVersion ?? LatestVersion(meta.Versions),
            meta.Platform,
            [.. meta.Inputs.Select(Spec)],
            [.. meta.Outputs.Select(Spec)]);
        return (config, metadata);
    }

    private protected override async ValueTask<TensorSet> SendAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var header = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteStartArray("inputs");
            foreach (var (name, tensor) in inputs)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    w.WriteNumberValue(d);
                }
                w.WriteEndArray();
                w.WriteString("datatype", tensor.DataType.ToKServeName());
                w.WriteStartObject("parameters");
                w.WriteNumber(KServeProtocol.BinaryDataSize, tensor.ByteLength);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("parameters");
            w.WriteBoolean(KServeProtocol.BinaryDataOutput, true);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, _modelPath + "/infer")
        {
            Content = new BinaryInferContent(header.WrittenMemory, inputs),
        };
        request.Headers.Add(KServeProtocol.HeaderContentLength, header.WrittenCount.ToString(CultureInfo.InvariantCulture));
        var sent = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // Connection refused or reset: the server is restarting or gone; worth another try.
            throw new InferenceUnavailableException($"inference on model '{ModelName}': {ex.Message}");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, $"inference on model '{ModelName}'", cancellationToken).ConfigureAwait(false);
            }
            var received = Stopwatch.GetTimestamp();
            TensorSet outputs;
            try
            {
                outputs = await ReadOutputsAsync(response, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new InferenceUnavailableException($"inference on model '{ModelName}': response cut short: {ex.Message}");
            }
            Timings.Record(sent - start, Stopwatch.GetTimestamp() - received);
            return outputs;
        }
    }

    private static async Task<TensorSet> ReadOutputsAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        int? headerLength = response.Headers.TryGetValues(KServeProtocol.HeaderContentLength, out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        JsonDocument json;
        if (headerLength is { } length)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            try
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                json = JsonDocument.Parse(buffer.AsMemory(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        else
        {
            json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        using (json)
        {
            var set = new TensorSet();
            try
            {
                foreach (var o in json.RootElement.GetProperty("outputs").EnumerateArray())
                {
                    var name = o.GetProperty("name").GetString()!;
                    var datatype = o.GetProperty("datatype").GetString();
                    if (!DataTypes.TryParseKServeName(datatype, out var type) || type == TensorDataType.Bytes)
                    {
                        throw new RemoteInferenceException("500", $"output '{name}' has unsupported datatype '{datatype}'");
                    }
                    var shape = o.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (o.TryGetProperty("parameters", out var p) && p.TryGetProperty(KServeProtocol.BinaryDataSize, out var size))
                    {
                        var tensor = Tensor.Rent(type, shape);
                        set.Add(name, tensor);
                        if (size.GetInt64() != tensor.ByteLength)
                        {
                            throw new RemoteInferenceException("500", $"output '{name}' has {size.GetInt64()} bytes for {datatype}[{string.Join(',', shape)}]");
                        }
                        await stream.ReadExactlyAsync(tensor.Memory, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        set.Add(name, JsonTensorData.Read(o.GetProperty("data"), type, shape, name));
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
    }

    private async Task<string> GetJsonAsync(string path, string what, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new InferenceUnavailableException($"{what} on {Server}: {ex.Message}");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, what, cancellationToken).ConfigureAwait(false);
            }
            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads Triton's <c>{"error": "..."}</c> body and maps the status: 503 retry, 400 request error.</summary>
    private static async Task<Exception> ErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        string message;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var doc = JsonDocument.Parse(body);
            message = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? body : body;
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException or IOException)
        {
            message = response.ReasonPhrase ?? "";
        }
        var status = (int)response.StatusCode;
        return status switch
        {
            503 or 429 or 504 or 502 => new InferenceUnavailableException($"{what}: {status}: {message}"),
            400 or 413 => new InferenceRequestException($"{what}: {message}"),
            _ => new RemoteInferenceException(status.ToString(CultureInfo.InvariantCulture), $"{what}: {message}"),
        };
    }

    private static TensorSpec Spec(ModelMetadataResponse.Types.TensorMetadata t) =>
        DataTypes.TryParseKServeName(t.Datatype, out var type)
            ? new TensorSpec(t.Name, type, [.. t.Shape])
            : throw new ModelConfigException($"tensor '{t.Name}' has unknown datatype '{t.Datatype}'");
}
