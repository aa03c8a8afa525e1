using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Server.Kserve.Http;

/// <summary>
/// Writes an inference response: outputs requested as binary go after the JSON header
/// (<c>Inference-Header-Content-Length</c>), written straight from the output tensors; the rest inline as JSON.
/// </summary>
internal static class HttpInferResponse
{
    public static async Task WriteAsync(HttpResponse response, ModelVersionHost model, string? id, TensorSet outputs, IReadOnlyList<RequestedOutput> requested, CancellationToken cancellationToken, SystemSharedMemory? sharedMemory = null)
    {
        var header = new ArrayBufferWriter<byte>(256);
        long binaryBytes = 0;
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteString("model_name", model.Name);
            w.WriteString("model_version", model.VersionText);
            if (id is not null)
            {
                w.WriteString("id", id);
            }
            w.WriteStartArray("outputs");
            foreach (var (name, binary, region) in requested)
            {
                var tensor = outputs[name];
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("datatype", tensor.DataType.ToKServeName());
                w.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    w.WriteNumberValue(d);
                }
                w.WriteEndArray();
                if (region is not null)
                {
                    // Written into the region; the response only says where and how much.
                    SharedMemoryTensors.WriteOutput(sharedMemory, region, tensor, name);
                    w.WriteStartObject("parameters");
                    w.WriteString(SharedMemoryTensors.RegionParameter, region.Region);
                    if (region.Offset != 0)
                    {
                        w.WriteNumber(SharedMemoryTensors.OffsetParameter, region.Offset);
                    }
                    w.WriteNumber(SharedMemoryTensors.ByteSizeParameter, tensor.ByteLength);
                    w.WriteEndObject();
                }
                else if (binary)
                {
                    w.WriteStartObject("parameters");
                    w.WriteNumber(KServeProtocol.BinaryDataSize, tensor.ByteLength);
                    w.WriteEndObject();
                    binaryBytes += tensor.ByteLength;
                }
                else
                {
                    w.WritePropertyName("data");
                    JsonTensorData.Write(w, tensor);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }

        var hasBinary = requested.Any(r => r.Binary);
        response.StatusCode = StatusCodes.Status200OK;
        if (hasBinary)
        {
            response.ContentType = "application/octet-stream";
            response.Headers[KServeProtocol.HeaderContentLength] = header.WrittenCount.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            response.ContentType = "application/json";
        }
        response.ContentLength = header.WrittenCount + binaryBytes;
        await response.Body.WriteAsync(header.WrittenMemory, cancellationToken).ConfigureAwait(false);
        foreach (var (name, binary, _) in requested)
        {
            if (binary)
            {
                await response.Body.WriteAsync(outputs[name].Memory, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
