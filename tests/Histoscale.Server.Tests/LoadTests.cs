using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Many concurrent clients with distinct inputs: every answer is its own request's, nothing is lost.</summary>
[Collection(ServerCollection.Name)]
public sealed class LoadTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    [Fact]
    public async Task ConcurrentClientsGetTheirOwnAnswers()
    {
        const int clients = 32;
        const int perClient = 8;
        var answered = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < perClient; i++)
            {
                var items = 1 + ((c + i) % 4);
                var pixels = Requests.Pixels(items, T, seed: (c * 1000) + i);
                var expected = Requests.Means(pixels, items);
                // Mixed transports on one model: the batcher joins requests from both into shared batches.
                var actual = c % 2 == 0 ? await GrpcAsync(pixels, items) : await HttpAsync(pixels, items);
                Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) < 1e-3);
                Interlocked.Increment(ref answered);
            }
        })));
        Assert.Equal(clients * perClient, answered);
        var stats = await server.Grpc.ModelStatisticsAsync(new KServe.Protocol.ModelStatisticsRequest { Name = "mean_u8" });
        // Dynamic batching merged requests: fewer executions than requests overall.
        Assert.True(stats.ModelStats[0].ExecutionCount < stats.ModelStats[0].InferenceStats.Success.Count);
    }

    [Fact]
    public async Task FullQueueRejectsWithUnavailable()
    {
        var pixels = Requests.Pixels(1, TestRepository.LimitedTile, seed: 5);
        int ok = 0, grpcRejected = 0, httpRejected = 0;
        for (var burst = 0; burst < 5 && (grpcRejected == 0 || httpRejected == 0); burst++)
        {
            var grpc = Enumerable.Range(0, 24).Select(async _ =>
            {
                try
                {
                    await server.Grpc.ModelInferAsync(Requests.Grpc("limited", "image", "UINT8", [1, 3, TestRepository.LimitedTile, TestRepository.LimitedTile], pixels));
                    Interlocked.Increment(ref ok);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                {
                    Assert.Contains("queue", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
                    Interlocked.Increment(ref grpcRejected);
                }
            });
            var http = Enumerable.Range(0, 24).Select(async _ =>
            {
                var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, TestRepository.LimitedTile, TestRepository.LimitedTile], binarySize: pixels.Length)) };
                using var response = await server.Http.PostAsync("/v2/models/limited/infer", Requests.Binary(header, pixels));
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
                    Assert.Contains("queue", error, StringComparison.OrdinalIgnoreCase);
                    Interlocked.Increment(ref httpRejected);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Interlocked.Increment(ref ok);
                }
            });
            await Task.WhenAll(grpc.Concat(http));
        }
        Assert.True(ok > 0, "some requests must be served");
        Assert.True(grpcRejected > 0 && httpRejected > 0, $"expected rejections over both transports (gRPC {grpcRejected}, HTTP {httpRejected}, ok {ok})");
        // And the model still serves afterwards.
        await server.Grpc.ModelInferAsync(Requests.Grpc("limited", "image", "UINT8", [1, 3, TestRepository.LimitedTile, TestRepository.LimitedTile], pixels));
    }

    private async Task<float[]> GrpcAsync(byte[] pixels, int items)
    {
        var response = await server.Grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [items, 3, T, T], pixels));
        return Requests.Floats(response.RawOutputContents[0]);
    }

    private async Task<float[]> HttpAsync(byte[] pixels, int items)
    {
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [items, 3, T, T], binarySize: pixels.Length)),
            ["parameters"] = new JsonObject { ["binary_data_output"] = true },
        };
        using var response = await server.Http.PostAsync("/v2/models/mean_u8/infer", Requests.Binary(header, pixels));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Requests.Floats((await Requests.ReadBinaryAsync(response)).Binary);
    }
}
