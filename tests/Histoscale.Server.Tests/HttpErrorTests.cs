using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Bad REST requests get Triton's status and <c>{"error": ...}</c>, and the server goes on serving.</summary>
[Collection(ServerCollection.Name)]
public sealed class HttpErrorTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    public static TheoryData<string, string, int, string> JsonCases => new()
    {
        { "wrong shape", Body("image", "UINT8", [1, 3, T, T + 1], (3 * T * (T + 1))), 400, "unexpected shape" },
        { "wrong datatype", Body("image", "FP32", [1, 3, T, T], 3 * T * T), 400, "data-type" },
        { "element count not matching shape", Body("image", "UINT8", [1, 3, T, T], 5), 400, "number of elements" },
        { "unknown datatype", Body("image", "FP8", [1, 3, T, T], 3 * T * T), 400, "invalid datatype" },
        { "unknown input", Body("pixels", "UINT8", [1, 3, T, T], 3 * T * T), 400, "unexpected inference input" },
        { "batch too large", Body("image", "UINT8", [65, 3, T, T], 65 * 3 * T * T), 400, "batch-size" },
        { "value out of range", Body("image", "UINT8", [1, 1, 1, 1], 1, 300), 400, "not a valid UINT8" },
        { "malformed JSON", "{\"inputs\": [", 400, "failed to parse" },
        { "no inputs", "{}", 400, "'inputs'" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task BadJsonRequests(string what, string body, int status, string message)
    {
        using var response = await server.Http.PostAsync("/v2/models/mean_u8/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertErrorAsync(response, status, message, what);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnknownModelOrVersionIs404()
    {
        var body = Body("image", "UINT8", [1, 3, T, T], 3 * T * T);
        await AssertErrorAsync(await server.Http.PostAsync("/v2/models/nope/infer", new StringContent(body)), 404, "unknown model", "model");
        await AssertErrorAsync(await server.Http.PostAsync("/v2/models/mean_u8/versions/7/infer", new StringContent(body)), 404, "version 7", "version");
        await AssertErrorAsync(await server.Http.GetAsync("/v2/models/nope"), 404, "unknown model", "metadata");
        await AssertErrorAsync(await server.Http.GetAsync("/v2/models/nope/config"), 404, "unknown model", "config");
        await AssertErrorAsync(await server.Http.GetAsync("/v2/models/nope/stats"), 404, "unknown model", "stats");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task BinaryProtocolErrors()
    {
        var raw = Requests.Pixels(1, T, seed: 5);
        JsonObject Header(long size) => new() { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], binarySize: size)) };

        // binary_data_size disagrees with the shape
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length - 1), raw[..^1])), 400, "explicit tensor data size", "size vs shape");
        // body ends before the declared binary data
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length), raw[..10])), 400, "ends before", "truncated");
        // more bytes than the inputs account for
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length), [.. raw, 1, 2, 3])), 400, "more binary data", "trailing");
        // header length not a number, longer than the body, or cutting the JSON short
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length), raw, "abc")), 400, "Inference-Header-Content-Length", "non-numeric");
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length), raw, "999999")), 400, "Inference-Header-Content-Length", "too long");
        await AssertErrorAsync(await Post(Requests.Binary(Header(raw.Length), raw, "20")), 400, "failed to parse", "JSON cut");
        // binary_data_size without the header
        var noHeader = new StringContent(Header(raw.Length).ToJsonString(), Encoding.UTF8, "application/json");
        await AssertErrorAsync(await Post(noHeader), 400, "binary_data_size", "no header");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task OversizedBodyIs413()
    {
        var raw = new byte[ServerFixture.MaxBodyBytes + 1024];
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, 1, raw.Length / 3], binarySize: raw.Length / 3 * 3)) };
        using var response = await Post(Requests.Binary(header, raw));
        await AssertErrorAsync(response, 413, "", "oversized");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnknownRequestedOutputIs400()
    {
        var pixels = Requests.Pixels(1, T, seed: 6);
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], new JsonArray([.. pixels.Select(p => (JsonNode)(int)p)]))),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "nope" }),
        };
        await AssertErrorAsync(await server.Http.PostAsync("/v2/models/mean_u8/infer", Requests.Json(body)), 400, "unexpected inference output", "output");
    }

    private Task<HttpResponseMessage> Post(HttpContent content) => server.Http.PostAsync("/v2/models/mean_u8/infer", content);

    private static string Body(string name, string datatype, long[] shape, int count, int value = 7) =>
        new JsonObject { ["inputs"] = new JsonArray(Requests.Input(name, datatype, shape, new JsonArray([.. Enumerable.Repeat((JsonNode)value, count).Select(n => n!.DeepClone())]))) }.ToJsonString();

    private static async Task AssertErrorAsync(HttpResponseMessage response, int status, string message, string what)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == (int)response.StatusCode, $"{what}: expected {status}, got {(int)response.StatusCode} {text}");
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
            Assert.Contains(message, error, StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task AssertStillServingAsync()
    {
        var pixels = Requests.Pixels(1, T, seed: 7);
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, T, T], binarySize: pixels.Length)) };
        using var response = await server.Http.PostAsync("/v2/models/mean_u8/infer", Requests.Binary(header, pixels));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0];
        Assert.Equal(Requests.Means(pixels, 1)[0], output.GetProperty("data")[0].GetSingle(), 0.01f);
    }
}
