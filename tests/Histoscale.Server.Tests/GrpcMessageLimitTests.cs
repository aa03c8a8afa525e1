using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.KServe.Protocol;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>gRPC requests have a size limit, as REST bodies do: over it is RESOURCE_EXHAUSTED, and the server goes on.</summary>
public sealed class GrpcMessageLimitTests : IDisposable
{
    private const int Limit = 64 * 1024;
    private const int Tile = 160; // one 3×160×160 UINT8 tile is 76 800 bytes, over the limit
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    public GrpcMessageLimitTests()
    {
        Directory.CreateDirectory(_root);
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, Tile, name: "mean_big"));
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, TestRepository.Tile, name: "mean_u8"));
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Fact]
    public void DefaultLimitIsFiniteAndHoldsLargeTileBatches()
    {
        var limit = new InferenceServerOptions { ModelRepository = _root }.MaxGrpcMessageBytes;
        Assert.Equal(256 << 20, limit);
        Assert.True(limit > 64L * 3 * 512 * 512 * sizeof(float), "a batch of 64 FP32 3×512×512 tiles must fit");
    }

    [Fact]
    public async Task OversizedMessagesAreResourceExhaustedAndTheServerGoesOn()
    {
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with { MaxGrpcMessageBytes = Limit });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}", new GrpcChannelOptions { MaxSendMessageSize = null });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var big = Requests.Pixels(1, Tile, seed: 1);
        var oversized = Requests.Grpc("mean_big", "image", "UINT8", [1, 3, Tile, Tile], big);

        var unary = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(oversized));
        Assert.Equal(StatusCode.ResourceExhausted, unary.StatusCode);
        Assert.Contains($"{oversized.CalculateSize()} bytes exceeds the server's gRPC message limit of {Limit} bytes", unary.Status.Detail, StringComparison.Ordinal);

        // Every message of a stream is held to the limit too (by the gRPC library, with its own wording).
        using (var stream = grpc.ModelStreamInfer())
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await stream.RequestStream.WriteAsync(oversized);
                await stream.RequestStream.CompleteAsync();
                await stream.ResponseStream.MoveNext(CancellationToken.None);
            });
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        }

        // The same channel and server go on: requests under the limit are answered.
        const int T = TestRepository.Tile;
        var small = Requests.Pixels(8, T, seed: 2);
        var response = await grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [8, 3, T, T], small));
        Assert.Equal(Requests.Means(small, 8), Requests.Floats(response.RawOutputContents[0]), (a, b) => Math.Abs(a - b) < 0.01);

        // REST has its own limit (MaxRequestBodyBytes): the same tile is fine there.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [1, 3, Tile, Tile], binarySize: big.Length)) };
        using var rest = await http.PostAsync("/v2/models/mean_big/infer", Requests.Binary(header, big));
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
    }
}
