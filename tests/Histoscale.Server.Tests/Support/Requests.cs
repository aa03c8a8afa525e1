using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Histoscale.KServe.Protocol;

namespace Histoscale.Server.Tests.Support;

/// <summary>Hand-built KServe v2 requests (not the product's client), so the server is tested against the protocol itself.</summary>
internal static class Requests
{
    public static byte[] Pixels(int items, int tile, int seed)
    {
        var data = new byte[items * 3 * tile * tile];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>What the mean_* models return per item: the mean of its values.</summary>
    public static float[] Means(byte[] pixels, int items)
    {
        var per = pixels.Length / items;
        return [.. Enumerable.Range(0, items).Select(i => (float)pixels.AsSpan(i * per, per).ToArray().Average(b => (double)b))];
    }

    public static JsonObject Input(string name, string datatype, long[] shape, JsonNode? data = null, long? binarySize = null)
    {
        var input = new JsonObject { ["name"] = name, ["datatype"] = datatype, ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode)d)]) };
        if (data is not null)
        {
            input["data"] = data;
        }
        if (binarySize is { } size)
        {
            input["parameters"] = new JsonObject { ["binary_data_size"] = size };
        }
        return input;
    }

    public static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>JSON header plus binary part, with Inference-Header-Content-Length (or a given, possibly wrong, value).</summary>
    public static ByteArrayContent Binary(JsonObject header, byte[] binary, string? headerLengthOverride = null)
    {
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var body = new byte[json.Length + binary.Length];
        json.CopyTo(body, 0);
        binary.CopyTo(body, json.Length);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation(KServeProtocol.HeaderContentLength, headerLengthOverride ?? json.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>Splits a binary-extension response into its JSON header and binary part.</summary>
    public static async Task<(JsonElement Header, byte[] Binary)> ReadBinaryAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var length = response.Headers.TryGetValues(KServeProtocol.HeaderContentLength, out var v) ? int.Parse(v.First(), CultureInfo.InvariantCulture) : body.Length;
        var header = JsonDocument.Parse(body.AsMemory(0, length)).RootElement.Clone();
        return (header, body[length..]);
    }

    public static ModelInferRequest Grpc(string model, string name, string datatype, long[] shape, byte[] raw, string id = "")
    {
        var request = new ModelInferRequest { ModelName = model, Id = id };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype, Shape = { shape } });
        request.RawInputContents.Add(ByteString.CopyFrom(raw));
        return request;
    }

    public static float[] Floats(ByteString bytes) => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.Span)];

    public static float[] Floats(byte[] bytes) => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes)];

    public static byte[] Bytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
