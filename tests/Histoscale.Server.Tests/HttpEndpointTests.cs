using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Every REST endpoint's shape, through a plain HttpClient.</summary>
[Collection(ServerCollection.Name)]
public sealed class HttpEndpointTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    [Fact]
    public async Task HealthAndServerMetadata()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/ready")).StatusCode);
        var meta = await server.GetJsonAsync("/v2");
        Assert.Equal("histoscale", meta.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(meta.GetProperty("version").GetString()));
        var extensions = meta.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("binary_tensor_data", extensions);
        Assert.Contains("model_repository", extensions);
        Assert.Contains("statistics", extensions);
    }

    [Fact]
    public async Task ModelMetadataReadyAndConfig()
    {
        var meta = await server.GetJsonAsync("/v2/models/mean_u8");
        Assert.Equal("mean_u8", meta.GetProperty("name").GetString());
        Assert.Equal(["1"], meta.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", meta.GetProperty("platform").GetString());
        var input = meta.GetProperty("inputs")[0];
        Assert.Equal("image", input.GetProperty("name").GetString());
        Assert.Equal("UINT8", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 3, T, T], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var output = meta.GetProperty("outputs")[0];
        Assert.Equal("mean_intensity", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());

        var v2 = await server.GetJsonAsync("/v2/models/versioned/versions/2");
        Assert.Equal(["1", "2"], v2.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));

        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/mean_u8/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/versioned/versions/1/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/versioned/versions/9/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/nope/ready")).StatusCode);

        var config = await server.GetJsonAsync("/v2/models/mean_u8/config");
        Assert.Equal("mean_u8", config.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", config.GetProperty("platform").GetString());
        Assert.Equal(64, config.GetProperty("max_batch_size").GetInt32());
        var cin = config.GetProperty("input")[0];
        Assert.Equal("TYPE_UINT8", cin.GetProperty("data_type").GetString());
        Assert.Equal("FORMAT_NCHW", cin.GetProperty("format").GetString());
        // Numbers, not protobuf's quoted int64s: perf_analyzer reads dims as integers.
        Assert.Equal(JsonValueKind.Number, cin.GetProperty("dims")[0].ValueKind);
        Assert.Equal([3L, T, T], cin.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(2000, config.GetProperty("dynamic_batching").GetProperty("max_queue_delay_microseconds").GetInt64());
        Assert.Equal("KIND_CPU", config.GetProperty("instance_group")[0].GetProperty("kind").GetString());
        Assert.Equal(1, config.GetProperty("version_policy").GetProperty("latest").GetProperty("num_versions").GetInt32());
        Assert.True(config.GetProperty("parameters").TryGetProperty("histoscale.tile_size", out var tile));
        Assert.Equal(T.ToString(System.Globalization.CultureInfo.InvariantCulture), tile.GetProperty("string_value").GetString());
    }

    [Fact]
    public async Task InferJsonUint8()
    {
        var pixels = Requests.Pixels(2, T, seed: 1);
        var body = new JsonObject
        {
            ["id"] = "req-1",
            ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [2, 3, T, T], new JsonArray([.. pixels.Select(p => (JsonNode)(int)p)]))),
        };
        using var response = await server.Http.PostAsync("/v2/models/mean_u8/infer", Requests.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("mean_u8", json.GetProperty("model_name").GetString());
        Assert.Equal("1", json.GetProperty("model_version").GetString());
        Assert.Equal("req-1", json.GetProperty("id").GetString());
        var output = json.GetProperty("outputs")[0];
        Assert.Equal("mean_intensity", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 1], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var expected = Requests.Means(pixels, 2);
        var actual = output.GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ToArray();
        Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) < 1e-3);
    }

    [Fact]
    public async Task InferJsonNestedFp32AndFp16()
    {
        var pixels = Requests.Pixels(1, T, seed: 2);
        // KServe allows nested arrays in row-major order; FP16 travels as JSON numbers too.
        JsonArray Nested() => new([.. Enumerable.Range(0, 3).Select(c => (JsonNode)new JsonArray([.. Enumerable.Range(0, T * T).Select(i => (JsonNode)(int)pixels[(c * T * T) + i])]))]);
        foreach (var (model, datatype) in new[] { ("mean_fp32", "FP32"), ("mean_fp16", "FP16") })
        {
            var body = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", datatype, [1, 3, T, T], new JsonArray(Nested()))) };
            using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", Requests.Json(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(Requests.Means(pixels, 1)[0], json.GetProperty("outputs")[0].GetProperty("data")[0].GetSingle(), 0.05f);
        }
    }

    [Fact]
    public async Task InferJsonInt64()
    {
        var body = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("x", "INT64", [2, 4], new JsonArray(1, -2, 3, 4_000_000_000_000, 5, 6, 7, 8))) };
        using var response = await server.Http.PostAsync("/v2/models/doubler_i64/infer", Requests.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0];
        Assert.Equal("INT64", output.GetProperty("datatype").GetString());
        Assert.Equal([2L, -4, 6, 8_000_000_000_000, 10, 12, 14, 16], output.GetProperty("data").EnumerateArray().Select(d => d.GetInt64()));
    }

    [Theory]
    [InlineData("mean_u8", "UINT8")]
    [InlineData("mean_fp32", "FP32")]
    [InlineData("mean_fp16", "FP16")]
    public async Task InferBinaryInAndOut(string model, string datatype)
    {
        var pixels = Requests.Pixels(3, T, seed: 3);
        byte[] raw = datatype switch
        {
            "UINT8" => pixels,
            "FP32" => Requests.Bytes(pixels.Select(p => (float)p).ToArray()),
            _ => Requests.Bytes(pixels.Select(p => (Half)p).ToArray()),
        };
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(Requests.Input("image", datatype, [3, 3, T, T], binarySize: raw.Length)),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "mean_intensity", ["parameters"] = new JsonObject { ["binary_data"] = true } }),
        };
        using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", Requests.Binary(header, raw));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var (json, binary) = await Requests.ReadBinaryAsync(response);
        var output = json.GetProperty("outputs")[0];
        Assert.Equal(12, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(Requests.Means(pixels, 3), Requests.Floats(binary), (a, b) => Math.Abs(a - b) < 0.05);
    }

    [Fact]
    public async Task BinaryInputJsonOutputAndBinaryDataOutputDefault()
    {
        var raw = Requests.Bytes(new long[] { 1, 2, 3, 4 });
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("x", "INT64", [1, 4], binarySize: raw.Length)) };
        using (var response = await server.Http.PostAsync("/v2/models/doubler_i64/infer", Requests.Binary(header, raw)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Inference-Header-Content-Length"));
            var output = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0];
            Assert.Equal([2L, 4, 6, 8], output.GetProperty("data").EnumerateArray().Select(d => d.GetInt64()));
        }
        header["parameters"] = new JsonObject { ["binary_data_output"] = true };
        using (var response = await server.Http.PostAsync("/v2/models/doubler_i64/versions/1/infer", Requests.Binary(header, raw)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var (_, binary) = await Requests.ReadBinaryAsync(response);
            Assert.Equal(new long[] { 2, 4, 6, 8 }, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(binary).ToArray());
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CompressedBinaryRequest(string encoding)
    {
        var pixels = Requests.Pixels(2, T, seed: 8);
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [2, 3, T, T], binarySize: pixels.Length)),
            ["parameters"] = new JsonObject { ["binary_data_output"] = true },
        };
        var plain = await Requests.Binary(header, pixels).ReadAsByteArrayAsync();
        var packed = new MemoryStream();
        await using (Stream z = encoding == "gzip" ? new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)
            : new System.IO.Compression.ZLibStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await z.WriteAsync(plain);
        }
        var content = new ByteArrayContent(packed.ToArray());
        content.Headers.ContentEncoding.Add(encoding);
        content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", (plain.Length - pixels.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await server.Http.PostAsync("/v2/models/mean_u8/infer", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Requests.Means(pixels, 2), Requests.Floats((await Requests.ReadBinaryAsync(response)).Binary), (a, b) => Math.Abs(a - b) < 1e-3);

        var garbage = new ByteArrayContent([1, 2, 3, 4, 5]);
        garbage.Headers.ContentEncoding.Add(encoding);
        using var bad = await server.Http.PostAsync("/v2/models/mean_u8/infer", garbage);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task StatisticsShape()
    {
        var raw = Requests.Pixels(1, T, seed: 4);
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], binarySize: raw.Length)) };
        for (var i = 0; i < 3; i++)
        {
            using var r = await server.Http.PostAsync("/v2/models/versioned/versions/2/infer", Requests.Binary(header, raw));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        var all = await server.GetJsonAsync("/v2/models/stats");
        Assert.Contains(all.GetProperty("model_stats").EnumerateArray(), s => s.GetProperty("name").GetString() == "mean_u8");

        var model = await server.GetJsonAsync("/v2/models/versioned/stats");
        Assert.Equal(["1", "2"], model.GetProperty("model_stats").EnumerateArray().Select(s => s.GetProperty("version").GetString()));

        var stats = (await server.GetJsonAsync("/v2/models/versioned/versions/2/stats")).GetProperty("model_stats")[0];
        Assert.Equal("versioned", stats.GetProperty("name").GetString());
        Assert.True(stats.GetProperty("inference_count").GetInt64() >= 3);
        Assert.True(stats.GetProperty("execution_count").GetInt64() >= 1);
        Assert.True(stats.GetProperty("last_inference").GetInt64() > 1_600_000_000_000);
        var inference = stats.GetProperty("inference_stats");
        foreach (var key in new[] { "success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss" })
        {
            Assert.True(inference.GetProperty(key).TryGetProperty("count", out _), key);
            Assert.True(inference.GetProperty(key).TryGetProperty("ns", out _), key);
        }
        Assert.True(inference.GetProperty("success").GetProperty("count").GetInt64() >= 3);
        Assert.True(inference.GetProperty("compute_infer").GetProperty("ns").GetInt64() > 0);
        var batch = stats.GetProperty("batch_stats")[0];
        Assert.Equal(1, batch.GetProperty("batch_size").GetInt32());
        Assert.True(batch.GetProperty("compute_infer").GetProperty("count").GetInt64() >= 1);
    }

    [Fact]
    public async Task RepositoryIndex()
    {
        using var response = await server.Http.PostAsync("/v2/repository/index", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var index = await response.Content.ReadFromJsonAsync<JsonElement>();
        var entries = index.EnumerateArray().ToList();
        var mean = entries.Single(e => e.GetProperty("name").GetString() == "mean_u8");
        Assert.Equal("1", mean.GetProperty("version").GetString());
        Assert.Equal("READY", mean.GetProperty("state").GetString());
        Assert.Equal(2, entries.Count(e => e.GetProperty("name").GetString() == "versioned"));
        var broken = entries.Single(e => e.GetProperty("name").GetString() == "broken");
        Assert.Equal("UNAVAILABLE", broken.GetProperty("state").GetString());
        Assert.Contains("tensorflow_graphdef", broken.GetProperty("reason").GetString());

        using var ready = await server.Http.PostAsync("/v2/repository/index", Requests.Json(new JsonObject { ["ready"] = true }));
        var readyEntries = (await ready.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
        Assert.DoesNotContain(readyEntries, e => e.GetProperty("name").GetString() == "broken");
        Assert.All(readyEntries, e => Assert.Equal("READY", e.GetProperty("state").GetString()));
    }
}
