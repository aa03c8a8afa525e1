using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Histoscale.Inference;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve.SharedMemory;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Server.Kserve.Http;

/// <summary>One output the client asked for, whether it wants it as binary data, and its shared-memory region if any.</summary>
internal readonly record struct RequestedOutput(string Name, bool Binary, SharedMemoryRef? Region = null);

/// <summary>
/// A parsed KServe v2 REST inference request, JSON or with Triton's binary tensor extension
/// (<c>Inference-Header-Content-Length</c> bytes of JSON, then each input's <c>binary_data_size</c> bytes in input
/// order). Binary inputs are read from the body straight into pooled tensors; the request owns them.
/// </summary>
internal sealed class HttpInferRequest : IDisposable
{
    // Only the count of a read past the end matters, so concurrent requests can share the byte.
    private static readonly byte[] Probe = new byte[1];

    private readonly SharedMemoryLeases _leases;

    private HttpInferRequest(string? id, TensorSet inputs, IReadOnlyList<RequestedOutput> outputs, SharedMemoryLeases leases)
    {
        Id = id;
        Inputs = inputs;
        Outputs = outputs;
        _leases = leases;
    }

    public string? Id { get; }

    public TensorSet Inputs { get; }

    /// <summary>The outputs to return, in order (all of the model's when the request named none).</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; }

    public void Dispose()
    {
        Inputs.Dispose();
        _leases.Dispose();
    }

    public static async Task<HttpInferRequest> ReadAsync(HttpRequest request, BackendMetadata metadata, CancellationToken cancellationToken, BoundedBufferPool? pool = null, SystemSharedMemory? sharedMemory = null)
    {
        // tritonclient can compress requests; the header length then counts uncompressed bytes, as in Triton.
        var encoding = request.Headers.ContentEncoding.ToString();
        await using var decompressed = encoding switch
        {
            "" or "identity" => null,
            "gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => (Stream)new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => throw new InferenceRequestException($"unsupported Content-Encoding '{encoding}' (expected gzip or deflate)"),
        };
        var body = decompressed ?? request.Body;
        var compressed = decompressed is not null;
        int? headerLength = null;
        if (request.Headers.TryGetValue(KServeProtocol.HeaderContentLength, out var header))
        {
            if (!int.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                || (!compressed && request.ContentLength is { } total && n > total))
            {
                throw new InferenceRequestException(
                    $"malformed {KServeProtocol.HeaderContentLength} '{header}': expected the byte length of the JSON header (at most the body length {request.ContentLength})");
            }
            headerLength = n;
        }

        using var json = await ReadHeaderAsync(body, headerLength, cancellationToken).ConfigureAwait(false);
        var root = json.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InferenceRequestException("the inference request must be a JSON object");
        }
        string? id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
        var binaryDefault = root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty(KServeProtocol.BinaryDataOutput, out var b) && b.ValueKind == JsonValueKind.True;
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceRequestException("the inference request has no 'inputs' array");
        }
        var outputs = ReadOutputs(root, metadata, binaryDefault);

        var inputs = new TensorSet(inputsElement.GetArrayLength());
        var leases = new SharedMemoryLeases();
        try
        {
            foreach (var input in inputsElement.EnumerateArray())
            {
                var (name, tensor) = await ReadInputAsync(input, body, headerLength is not null, cancellationToken, pool, sharedMemory, leases).ConfigureAwait(false);
                try
                {
                    inputs.Add(name, tensor);
                }
                catch (ArgumentException)
                {
                    tensor.Dispose();
                    throw new InferenceRequestException($"input '{name}' appears more than once");
                }
            }
            if (headerLength is not null)
            {
                var extra = await body.ReadAsync(Probe, cancellationToken).ConfigureAwait(false);
                if (extra > 0)
                {
                    throw new InferenceRequestException("the request body has more binary data than the inputs' binary_data_size values account for");
                }
            }
            return new HttpInferRequest(id, inputs, outputs, leases);
        }
        catch
        {
            inputs.Dispose();
            leases.Dispose();
            throw;
        }
    }

    private static async Task<JsonDocument> ReadHeaderAsync(Stream body, int? headerLength, CancellationToken cancellationToken)
    {
        try
        {
            if (headerLength is not { } length)
            {
                return await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            try
            {
                await body.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                return JsonDocument.Parse(buffer.AsMemory(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (JsonException ex)
        {
            throw new InferenceRequestException($"failed to parse the request JSON buffer: {ex.Message}");
        }
        catch (EndOfStreamException)
        {
            throw new InferenceRequestException($"the request body is shorter than {KServeProtocol.HeaderContentLength}");
        }
    }

    private static async Task<(string Name, Tensor Tensor)> ReadInputAsync(JsonElement input, Stream body, bool hasBinary, CancellationToken cancellationToken, BoundedBufferPool? pool, SystemSharedMemory? sharedMemory, SharedMemoryLeases leases)
    {
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw new InferenceRequestException("every input needs a 'name'");
        }
        var name = nameElement.GetString()!;
        var datatype = input.TryGetProperty("datatype", out var dt) && dt.ValueKind == JsonValueKind.String ? dt.GetString() : null;
        var type = TensorShapes.ParseDataType(datatype, name);
        var shape = ReadShape(input, name);
        var size = TensorShapes.ByteSize(type, shape, name);
        input.TryGetProperty("parameters", out var p);
        if (SharedMemoryTensors.From(p, name) is { } where)
        {
            return (name, SharedMemoryTensors.ReadInput(sharedMemory, where, type, shape, name, leases));
        }
        if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty(KServeProtocol.BinaryDataSize, out var sizeElement))
        {
            if (!hasBinary)
            {
                throw new InferenceRequestException($"input '{name}' has binary_data_size but the request has no {KServeProtocol.HeaderContentLength} header");
            }
            if (!sizeElement.TryGetInt64(out var declared) || declared != size)
            {
                throw new InferenceRequestException(
                    $"unexpected explicit tensor data size for input '{name}': {datatype}[{string.Join(',', shape)}] needs {size} bytes, binary_data_size is {sizeElement.GetRawText()}");
            }
            // Into a buffer of the server's bounded pool when there is one (large request tensors), else the shared pool.
            var tensor = pool is null ? Tensor.Rent(type, shape) : Tensor.RentFrom(pool, type, shape);
            try
            {
                await body.ReadExactlyAsync(tensor.Memory, cancellationToken).ConfigureAwait(false);
                return (name, tensor);
            }
            catch (EndOfStreamException)
            {
                tensor.Dispose();
                throw new InferenceRequestException($"the request body ends before the binary data of input '{name}'");
            }
            catch
            {
                tensor.Dispose();
                throw;
            }
        }
        if (!input.TryGetProperty("data", out var data))
        {
            throw new InferenceRequestException($"input '{name}' has neither 'data' nor binary_data_size");
        }
        return (name, JsonTensorData.Read(data, type, shape, name));
    }

    private static long[] ReadShape(JsonElement input, string name)
    {
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceRequestException($"input '{name}' needs a 'shape' array");
        }
        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (!d.TryGetInt64(out shape[i++]))
            {
                throw new InferenceRequestException($"input '{name}': shape entries must be integers, got {d.GetRawText()}");
            }
        }
        return shape;
    }

    private static List<RequestedOutput> ReadOutputs(JsonElement root, BackendMetadata metadata, bool binaryDefault)
    {
        if (!root.TryGetProperty("outputs", out var outputsElement) || outputsElement.ValueKind != JsonValueKind.Array || outputsElement.GetArrayLength() == 0)
        {
            return [.. metadata.Outputs.Select(o => new RequestedOutput(o.Name, binaryDefault))];
        }
        var outputs = new List<RequestedOutput>();
        foreach (var o in outputsElement.EnumerateArray())
        {
            var name = o.ValueKind == JsonValueKind.Object && o.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
            if (name is null)
            {
                throw new InferenceRequestException("every requested output needs a 'name'");
            }
            if (!metadata.Outputs.Any(s => s.Name == name))
            {
                throw new InferenceRequestException($"unexpected inference output '{name}' for model '{metadata.Name}'");
            }
            var binary = binaryDefault;
            SharedMemoryRef? region = null;
            if (o.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                if (p.TryGetProperty("classification", out _))
                {
                    throw new InferenceRequestException($"output '{name}': the classification extension is not supported");
                }
                if (p.TryGetProperty(KServeProtocol.BinaryData, out var bin) && bin.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    binary = bin.GetBoolean();
                }
                region = SharedMemoryTensors.From(p, name);
            }
            outputs.Add(new RequestedOutput(name, binary && region is null, region));
        }
        return outputs;
    }
}
