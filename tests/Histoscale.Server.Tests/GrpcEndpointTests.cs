using Google.Protobuf;
using Grpc.Core;
using Histoscale.KServe.Protocol;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Every RPC of inference.GRPCInferenceService through the generated client, and its error statuses.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcEndpointTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    [Fact]
    public async Task HealthAndMetadata()
    {
        var grpc = server.Grpc;
        Assert.True((await grpc.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await grpc.ModelReadyAsync(new ModelReadyRequest { Name = "mean_u8" })).Ready);
        Assert.True((await grpc.ModelReadyAsync(new ModelReadyRequest { Name = "versioned", Version = "2" })).Ready);
        Assert.False((await grpc.ModelReadyAsync(new ModelReadyRequest { Name = "nope" })).Ready);

        var meta = await grpc.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("histoscale", meta.Name);
        Assert.Contains("binary_tensor_data", meta.Extensions);

        var model = await grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "mean_fp16" });
        Assert.Equal("mean_fp16", model.Name);
        Assert.Equal(["1"], model.Versions);
        Assert.Equal("onnxruntime_onnx", model.Platform);
        Assert.Equal("FP16", model.Inputs[0].Datatype);
        Assert.Equal([-1L, 3, T, T], model.Inputs[0].Shape);
        Assert.Equal("mean_intensity", model.Outputs[0].Name);

        var config = (await grpc.ModelConfigAsync(new ModelConfigRequest { Name = "limited" })).Config;
        Assert.Equal("limited", config.Name);
        Assert.Equal(1, config.MaxBatchSize);
        Assert.Equal(DataType.TypeUint8, config.Input[0].DataType);
        Assert.Equal(ModelInput.Types.Format.Nchw, config.Input[0].Format);
        Assert.Equal(1u, config.DynamicBatching.DefaultQueuePolicy.MaxQueueSize);
        Assert.Equal(ModelInstanceGroup.Types.Kind.Cpu, config.InstanceGroup[0].Kind);
        Assert.Equal(TestRepository.LimitedTile.ToString(System.Globalization.CultureInfo.InvariantCulture), config.Parameters["histoscale.tile_size"].StringValue);
    }

    [Fact]
    public async Task InferRawAllDatatypes()
    {
        var pixels = Requests.Pixels(2, T, seed: 11);
        var expected = Requests.Means(pixels, 2);
        var cases = new (string Model, string Datatype, byte[] Raw)[]
        {
            ("mean_u8", "UINT8", pixels),
            ("mean_fp32", "FP32", Requests.Bytes(pixels.Select(p => (float)p).ToArray())),
            ("mean_fp16", "FP16", Requests.Bytes(pixels.Select(p => (Half)p).ToArray())),
        };
        foreach (var (model, datatype, raw) in cases)
        {
            var response = await server.Grpc.ModelInferAsync(Requests.Grpc(model, "image", datatype, [2, 3, T, T], raw, id: model));
            Assert.Equal(model, response.ModelName);
            Assert.Equal("1", response.ModelVersion);
            Assert.Equal(model, response.Id);
            Assert.Equal("mean_intensity", response.Outputs[0].Name);
            Assert.Equal("FP32", response.Outputs[0].Datatype);
            Assert.Equal([2L, 1], response.Outputs[0].Shape);
            Assert.Equal(expected, Requests.Floats(response.RawOutputContents[0]), (a, b) => Math.Abs(a - b) < 0.05);
        }

        var ints = await server.Grpc.ModelInferAsync(Requests.Grpc("doubler_i64", "x", "INT64", [1, 4], Requests.Bytes(new long[] { -1, 0, 1, long.MaxValue / 2 })));
        Assert.Equal("INT64", ints.Outputs[0].Datatype);
        Assert.Equal(new long[] { -2, 0, 2, long.MaxValue / 2 * 2 }, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(ints.RawOutputContents[0].Span).ToArray());
    }

    [Fact]
    public async Task InferTypedContentsAndRequestedOutputs()
    {
        var request = new ModelInferRequest { ModelName = "doubler_i64", ModelVersion = "1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
        {
            Name = "x",
            Datatype = "INT64",
            Shape = { 2, 4 },
            Contents = new InferTensorContents { Int64Contents = { 1, 2, 3, 4, 5, 6, 7, 8 } },
        });
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" });
        var response = await server.Grpc.ModelInferAsync(request);
        Assert.Equal(new long[] { 2, 4, 6, 8, 10, 12, 14, 16 }, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(response.RawOutputContents[0].Span).ToArray());

        var fp32 = new ModelInferRequest { ModelName = "mean_fp32" };
        var values = Enumerable.Range(0, 3 * T * T).Select(i => (float)(i % 7)).ToArray();
        fp32.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "FP32", Shape = { 1, 3, T, T }, Contents = new InferTensorContents { Fp32Contents = { values } } });
        var mean = Requests.Floats((await server.Grpc.ModelInferAsync(fp32)).RawOutputContents[0])[0];
        Assert.Equal(values.Average(), mean, 1e-4);
    }

    [Fact]
    public async Task StatisticsAndIndex()
    {
        await server.Grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], Requests.Pixels(1, T, 12)));
        var stats = await server.Grpc.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "mean_u8", Version = "1" });
        var s = Assert.Single(stats.ModelStats);
        Assert.Equal("mean_u8", s.Name);
        Assert.Equal("1", s.Version);
        Assert.True(s.InferenceStats.Success.Count >= 1);
        Assert.True(s.InferenceStats.ComputeInfer.Ns > 0);
        Assert.True(s.InferenceCount >= 1 && s.ExecutionCount >= 1);
        Assert.NotEmpty(s.BatchStats);

        var all = await server.Grpc.ModelStatisticsAsync(new ModelStatisticsRequest());
        Assert.Contains(all.ModelStats, m => m.Name == "doubler_i64");

        var index = await server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.Contains(index.Models, m => m.Name == "mean_u8" && m.Version == "1" && m.State == "READY");
        Assert.Contains(index.Models, m => m.Name == "broken" && m.State == "UNAVAILABLE" && m.Reason.Contains("platform", StringComparison.Ordinal));
        var ready = await server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });
        Assert.DoesNotContain(ready.Models, m => m.Name == "broken");
    }

    public static TheoryData<string, string, string, long[], int, StatusCode> BadRequests => new()
    {
        { "wrong shape", "mean_u8", "UINT8", [1, 3, T, T + 1], 3 * T * (T + 1), StatusCode.InvalidArgument },
        { "wrong datatype", "mean_u8", "FP32", [1, 3, T, T], 4 * 3 * T * T, StatusCode.InvalidArgument },
        { "byte size not matching shape", "mean_u8", "UINT8", [1, 3, T, T], (3 * T * T) - 1, StatusCode.InvalidArgument },
        { "unknown datatype", "mean_u8", "FP8", [1, 3, T, T], 3 * T * T, StatusCode.InvalidArgument },
        { "negative dimension", "mean_u8", "UINT8", [-1, 3, T, T], 3 * T * T, StatusCode.InvalidArgument },
        { "unknown model", "nope", "UINT8", [1, 3, T, T], 3 * T * T, StatusCode.NotFound },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsGetStatusCodes(string what, string model, string datatype, long[] shape, int bytes, StatusCode code)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.ModelInferAsync(Requests.Grpc(model, "image", datatype, shape, new byte[bytes])));
        Assert.True(code == ex.StatusCode, $"{what}: {ex.StatusCode} {ex.Status.Detail}");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task UnknownVersionIsNotFound()
    {
        var request = Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], new byte[3 * T * T]);
        request.ModelVersion = "3";
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.ModelInferAsync(request));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        var meta = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "mean_u8", Version = "3" }));
        Assert.Equal(StatusCode.NotFound, meta.StatusCode);
    }

    [Fact]
    public async Task StreamInferAnswersEveryRequestAndSurvivesErrors()
    {
        using var call = server.Grpc.ModelStreamInfer();
        var inputs = Enumerable.Range(0, 8).Select(i => Requests.Pixels(1, T, 100 + i)).ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            await call.RequestStream.WriteAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], inputs[i], id: $"r{i}"));
            if (i == 3)
            {
                await call.RequestStream.WriteAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], new byte[5], id: "bad"));
            }
        }
        await call.RequestStream.CompleteAsync();
        var answers = new Dictionary<string, ModelStreamInferResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync())
        {
            answers[r.InferResponse.Id] = r;
        }
        Assert.Equal(9, answers.Count);
        Assert.Contains("explicit tensor data size", answers["bad"].ErrorMessage, StringComparison.Ordinal);
        for (var i = 0; i < inputs.Length; i++)
        {
            var r = answers[$"r{i}"];
            Assert.Equal("", r.ErrorMessage);
            Assert.Equal(Requests.Means(inputs[i], 1)[0], Requests.Floats(r.InferResponse.RawOutputContents[0])[0], 0.01f);
        }
    }

    [Fact]
    public async Task LargeMessagesPassTheRaisedLimits()
    {
        // 64 tiles of 3×160×160 UINT8 are 4.9 MB, above gRPC's 4 MiB default message limit.
        const int items = 64;
        var raw = Requests.Pixels(items, 160, seed: 13);
        var response = await server.Grpc.ModelInferAsync(Requests.Grpc("mean_big", "image", "UINT8", [items, 3, 160, 160], raw));
        Assert.Equal([items, 1L], response.Outputs[0].Shape);
        Assert.Equal(Requests.Means(raw, items), Requests.Floats(response.RawOutputContents[0]), (a, b) => Math.Abs(a - b) < 0.01);
    }

    private async Task AssertStillServingAsync()
    {
        var pixels = Requests.Pixels(1, T, seed: 14);
        var response = await server.Grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], pixels));
        Assert.Equal(Requests.Means(pixels, 1)[0], Requests.Floats(response.RawOutputContents[0])[0], 0.01f);
    }
}
