using Histoscale.Inference;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.KServe;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>The remote backends against the in-process server give what the in-process ORT backend gives.</summary>
[Collection(ServerCollection.Name)]
public sealed class RemoteBackendTests(ServerFixture server)
{
    public static TheoryData<string> Transports => ["grpc", "http"];

    private string Url(string transport) => transport == "grpc" ? server.GrpcUrl : server.HttpUrl;

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task MetadataAndConfigComeFromTheServer(string transport)
    {
        await using var backend = await RemoteBackends.CreateAsync(Url(transport), "tissue_u8", null, concurrency: 3);
        Assert.Equal(3, backend.InstanceCount);
        var m = backend.Metadata;
        Assert.Equal("tissue_u8", m.Name);
        Assert.Equal("1", m.Version);
        Assert.Equal("onnxruntime_onnx", m.Platform);
        Assert.Equal(64, m.MaxBatchSize);
        Assert.Equal(TensorDataType.UInt8, m.Inputs[0].DataType);
        Assert.Equal([-1L, 3, 16, 16], m.Inputs[0].Shape);
        Assert.Equal("scores", m.Outputs[0].Name);
        Assert.Equal("16", backend.Config.Parameters["histoscale.tile_size"]);
        Assert.Equal(Inference.Config.TensorFormat.Nchw, backend.Config.Inputs[0].Format);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ResultsIdenticalToInProcessBackend(string transport)
    {
        await using var local = OnnxRuntimeBackend.Create(
            ModelDescription.Load(Path.Combine(server.Repository, "tissue_u8")), new OnnxRuntimeOptions { IntraOpThreads = 1 });
        await using var remote = await RemoteBackends.CreateAsync(Url(transport), "tissue_u8", "1", concurrency: 8);
        // Concurrent, distinct requests so the server batches them together and must slice answers back correctly.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var items = 1 + (i % 5);
            using var inputs = new TensorSet().Add("image", Tensor.FromValues<byte>(TensorDataType.UInt8, Requests.Pixels(items, 16, 200 + i), items, 3, 16, 16));
            using var expected = await local.ExecuteAsync(inputs);
            using var actual = await remote.ExecuteAsync(inputs);
            Assert.Equal(expected["scores"].ShapeArray(), actual["scores"].ShapeArray());
            Assert.Equal(expected["scores"].ToArray<float>(), actual["scores"].ToArray<float>());
        })));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Uint8TilesAreConvertedForAnFp32Model(string transport)
    {
        var pixels = Requests.Pixels(4, 16, 300);
        await using var local = OnnxRuntimeBackend.Create(
            ModelDescription.Load(Path.Combine(server.Repository, "tissue_fp32")), new OnnxRuntimeOptions { IntraOpThreads = 1 });
        await using var remote = await RemoteBackends.CreateAsync(Url(transport), "tissue_fp32", null, concurrency: 2);
        Assert.Equal(TensorDataType.Fp32, remote.Metadata.Inputs[0].DataType);
        using var floats = new TensorSet().Add("image", Tensor.FromValues<float>(TensorDataType.Fp32, pixels.Select(p => (float)p).ToArray(), 4, 3, 16, 16));
        using var bytes = new TensorSet().Add("image", Tensor.FromValues<byte>(TensorDataType.UInt8, pixels, 4, 3, 16, 16));
        using var expected = await local.ExecuteAsync(floats);
        using var actual = await remote.ExecuteAsync(bytes);
        Assert.Equal(expected["scores"].ToArray<float>(), actual["scores"].ToArray<float>());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Int64AndFp16TravelIntact(string transport)
    {
        await using var ints = await RemoteBackends.CreateAsync(Url(transport), "doubler_i64", null, concurrency: 1);
        using (var inputs = new TensorSet().Add("x", Tensor.FromValues<long>(TensorDataType.Int64, [long.MinValue / 4, -1, 0, long.MaxValue / 4], 1, 4)))
        using (var outputs = await ints.ExecuteAsync(inputs))
        {
            Assert.Equal([long.MinValue / 2, -2, 0, long.MaxValue / 4 * 2], outputs["y"].ToArray<long>());
        }
        await using var halves = await RemoteBackends.CreateAsync(Url(transport), "mean_fp16", null, concurrency: 1);
        var pixels = Requests.Pixels(2, TestRepository.Tile, 301);
        using (var inputs = new TensorSet().Add("image", Tensor.FromValues<Half>(TensorDataType.Fp16, pixels.Select(p => (Half)p).ToArray(), 2, 3, TestRepository.Tile, TestRepository.Tile)))
        using (var outputs = await halves.ExecuteAsync(inputs))
        {
            Assert.Equal(Requests.Means(pixels, 2), outputs["mean_intensity"].ToArray<float>(), (a, b) => Math.Abs(a - b) < 0.05);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ErrorsAreTyped(string transport)
    {
        await Assert.ThrowsAsync<ModelConfigException>(() => RemoteBackends.CreateAsync(Url(transport), "nope", null, 1));
        await Assert.ThrowsAsync<ModelConfigException>(() => RemoteBackends.CreateAsync(Url(transport), "mean_u8", "9", 1));
        await using var backend = await RemoteBackends.CreateAsync(Url(transport), "mean_u8", null, 1);
        using var wrong = new TensorSet().Add("image", Tensor.Rent(TensorDataType.UInt8, [1, 3, 5, 5], clear: true));
        await Assert.ThrowsAsync<InferenceRequestException>(async () => await backend.ExecuteAsync(wrong));
        Assert.Throws<ArgumentException>(() => ServerAddress.Parse("ftp://host"));
        Assert.Equal(new Uri("http://h:8001/"), ServerAddress.Parse("grpc://h").Address);
        Assert.Equal(new Uri("http://h:8000/"), ServerAddress.Parse("http://h").Address);
        Assert.Equal(new Uri("http://h:80/"), ServerAddress.Parse("http://h:80").Address);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task UnavailableIsRetriedUntilServed(string transport)
    {
        // 32 in flight against a one-slot queue: the server rejects many, the backoff gets every one through.
        await using var backend = await RemoteBackends.CreateAsync(Url(transport), "limited", null,
            new RemoteBackendOptions { Concurrency = 32, MaxAttempts = 50, InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(100) });
        var pixels = Requests.Pixels(1, TestRepository.LimitedTile, 302);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            using var inputs = new TensorSet().Add("image", Tensor.FromValues<byte>(TensorDataType.UInt8, pixels, 1, 3, TestRepository.LimitedTile, TestRepository.LimitedTile));
            using var outputs = await backend.ExecuteAsync(inputs);
            Assert.Equal([1L, 3], outputs["scores"].ShapeArray());
        })));
    }
}
