using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.KServe;
using Histoscale.KServe.Protocol;
using Histoscale.Server.Kserve;
using Histoscale.Server.Tests.Support;
using Histoscale.Synthesis.Models;

namespace Histoscale.Server.Tests;

/// <summary>
/// Triton's system shared memory extension over both transports: regions over real POSIX shared-memory objects
/// (files under /dev/shm), inputs read from and outputs written to them, and Triton-style errors.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SharedMemoryTests(ServerFixture server) : IDisposable
{
    private const int Tile = 16; // tissue_fp32
    private readonly List<string> _objects = [];

    public void Dispose()
    {
        foreach (var path in _objects)
        {
            File.Delete(path);
        }
    }

    /// <summary>A new shared-memory object of <paramref name="bytes"/> zero bytes; returns its key (shm_open's name).</summary>
    private string CreateObject(long bytes)
    {
        var name = "histoscale-test-" + Guid.NewGuid().ToString("N");
        var path = Path.Combine("/dev/shm", name);
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength(bytes);
        }
        _objects.Add(path);
        return "/" + name;
    }

    private static string FileOf(string key) => Path.Combine("/dev/shm", key.TrimStart('/'));

    private static string Unique(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N")[..8];

    private static float[] TilesFp32(int items, int seed) => [.. Requests.Pixels(items, Tile, seed).Select(p => (float)p)];

    private static void Write(string key, long offset, byte[] bytes)
    {
        using var f = new FileStream(FileOf(key), FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    private static byte[] Read(string key, long offset, int count)
    {
        using var f = new FileStream(FileOf(key), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = offset;
        var bytes = new byte[count];
        f.ReadExactly(bytes);
        return bytes;
    }

    private static InferParameter Str(string s) => new() { StringParam = s };

    private static InferParameter Int(long v) => new() { Int64Param = v };

    private async Task<HttpResponseMessage> RegisterHttpAsync(string region, string key, long offset, long byteSize) =>
        await server.Http.PostAsync($"/v2/systemsharedmemory/region/{region}/register",
            Requests.Json(new JsonObject { ["key"] = key, ["offset"] = offset, ["byte_size"] = byteSize }));

    private static async Task<string> ErrorAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    [Fact]
    public async Task HttpRegisterStatusUnregister()
    {
        var key = CreateObject(4096);
        var region = Unique("http_region");
        using (var ok = await RegisterHttpAsync(region, key, 1024, 2048))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var one = await server.GetJsonAsync($"/v2/systemsharedmemory/region/{region}/status");
        var status = Assert.Single(one.EnumerateArray());
        Assert.Equal(region, status.GetProperty("name").GetString());
        Assert.Equal(key, status.GetProperty("key").GetString());
        Assert.Equal(1024, status.GetProperty("offset").GetInt64());
        Assert.Equal(2048, status.GetProperty("byte_size").GetInt64());
        var all = await server.GetJsonAsync("/v2/systemsharedmemory/status");
        Assert.Contains(all.EnumerateArray(), r => r.GetProperty("name").GetString() == region);

        using (var again = await RegisterHttpAsync(region, key, 0, 16))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
            Assert.Contains($"'{region}' already in manager", await ErrorAsync(again));
        }

        using (var unregister = await server.Http.PostAsync($"/v2/systemsharedmemory/region/{region}/unregister", null))
        {
            Assert.Equal(HttpStatusCode.OK, unregister.StatusCode);
        }
        using (var gone = await server.Http.GetAsync($"/v2/systemsharedmemory/region/{region}/status"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, gone.StatusCode);
            Assert.Contains($"'{region}'", await ErrorAsync(gone));
        }
        var all2 = await server.GetJsonAsync("/v2/systemsharedmemory/status");
        Assert.DoesNotContain(all2.EnumerateArray(), r => r.GetProperty("name").GetString() == region);

        var meta = await server.GetJsonAsync("/v2");
        Assert.Contains(meta.GetProperty("extensions").EnumerateArray(), e => e.GetString() == "system_shared_memory");
    }

    [Fact]
    public async Task GrpcRegisterStatusUnregister()
    {
        var key = CreateObject(4096);
        var region = Unique("grpc_region");
        await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, Offset = 0, ByteSize = 4096 });
        var status = await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = region });
        var r = Assert.Single(status.Regions);
        Assert.Equal(region, r.Key);
        Assert.Equal(key, r.Value.Key);
        Assert.Equal(4096ul, r.Value.ByteSize);
        Assert.Contains(region, (await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions.Keys);

        var again = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, ByteSize = 16 }));
        Assert.Equal(StatusCode.InvalidArgument, again.StatusCode);
        Assert.Contains($"'{region}'", again.Status.Detail);

        await server.Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = region });
        var gone = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = region }));
        Assert.Equal(StatusCode.InvalidArgument, gone.StatusCode);
        Assert.Contains($"'{region}'", gone.Status.Detail);
    }

    [Fact]
    public async Task GrpcInferenceBySharedMemoryEqualsInferenceByBytes()
    {
        const int N = 4;
        var input = Requests.Bytes(TilesFp32(N, seed: 5));
        var byBytes = await server.Grpc.ModelInferAsync(Requests.Grpc("tissue_fp32", "image", "FP32", [N, 3, Tile, Tile], input));
        var expected = byBytes.RawOutputContents[0].ToByteArray();

        // Input at offset 64 of the object's region, output after it in the same region.
        var key = CreateObject(64 + input.Length + 256);
        Write(key, 64, input);
        var region = Unique("infer");
        await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, Offset = 64, ByteSize = (ulong)(input.Length + 256) });
        try
        {
            var request = new ModelInferRequest { ModelName = "tissue_fp32" };
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
            {
                Name = "image",
                Datatype = "FP32",
                Shape = { N, 3, Tile, Tile },
                Parameters = { ["shared_memory_region"] = Str(region), ["shared_memory_byte_size"] = Int(input.Length) },
            });
            var byMemory = await server.Grpc.ModelInferAsync(request);
            Assert.Equal(expected, byMemory.RawOutputContents[0].ToByteArray()); // bit-identical

            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor
            {
                Name = "scores",
                Parameters = { ["shared_memory_region"] = Str(region), ["shared_memory_offset"] = Int(input.Length), ["shared_memory_byte_size"] = Int(256) },
            });
            var intoMemory = await server.Grpc.ModelInferAsync(request);
            Assert.Empty(intoMemory.RawOutputContents);
            var output = Assert.Single(intoMemory.Outputs);
            Assert.Equal([(long)N, 3], output.Shape);
            Assert.Equal(region, output.Parameters["shared_memory_region"].StringParam);
            Assert.Equal(expected.Length, output.Parameters["shared_memory_byte_size"].Int64Param);
            Assert.Equal(expected, Read(key, 64 + input.Length, expected.Length));
        }
        finally
        {
            await server.Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = region });
        }
    }

    [Fact]
    public async Task HttpInferenceBySharedMemoryEqualsInferenceByBytes()
    {
        const int N = 3;
        var input = Requests.Bytes(TilesFp32(N, seed: 9));
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "FP32", [N, 3, Tile, Tile], binarySize: input.Length)) };
        header["outputs"] = new JsonArray(new JsonObject { ["name"] = "scores", ["parameters"] = new JsonObject { ["binary_data"] = true } });
        using var byBytes = await server.Http.PostAsync("/v2/models/tissue_fp32/infer", Requests.Binary(header, input));
        Assert.Equal(HttpStatusCode.OK, byBytes.StatusCode);
        var (_, expected) = await Requests.ReadBinaryAsync(byBytes);

        var key = CreateObject(input.Length + 128);
        Write(key, 0, input);
        var region = Unique("http_infer");
        using (var ok = await RegisterHttpAsync(region, key, 0, input.Length + 128))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        try
        {
            var image = Requests.Input("image", "FP32", [N, 3, Tile, Tile]);
            image["parameters"] = new JsonObject { ["shared_memory_region"] = region, ["shared_memory_byte_size"] = input.Length };
            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(image),
                ["outputs"] = new JsonArray(new JsonObject
                {
                    ["name"] = "scores",
                    ["parameters"] = new JsonObject { ["shared_memory_region"] = region, ["shared_memory_offset"] = input.Length, ["shared_memory_byte_size"] = 128 },
                }),
            };
            using var response = await server.Http.PostAsync("/v2/models/tissue_fp32/infer", Requests.Json(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            var output = Assert.Single(json.GetProperty("outputs").EnumerateArray());
            Assert.False(output.TryGetProperty("data", out _));
            Assert.Equal(region, output.GetProperty("parameters").GetProperty("shared_memory_region").GetString());
            Assert.Equal(expected.Length, output.GetProperty("parameters").GetProperty("shared_memory_byte_size").GetInt64());
            Assert.Equal(expected, Read(key, input.Length, expected.Length)); // bit-identical
        }
        finally
        {
            using var _ = await server.Http.PostAsync($"/v2/systemsharedmemory/region/{region}/unregister", null);
        }
    }

    [Theory]
    [InlineData("../etc/passwd", "invalid key")]
    [InlineData("/a/b", "invalid key")]
    [InlineData("/..", "invalid key")]
    [InlineData("", "invalid key")]
    [InlineData("/histoscale-test-does-not-exist", "Unable to open")]
    public async Task BadKeysAreRefusedNamingTheRegion(string key, string message)
    {
        var region = Unique("bad");
        using var response = await RegisterHttpAsync(region, key, 0, 16);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Contains($"'{region}'", error);
        Assert.Contains(message, error);

        var rpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, ByteSize = 16 }));
        Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Contains($"'{region}'", rpc.Status.Detail);
    }

    [Fact]
    public async Task SymbolicLinksUnderDevShmAreRefused()
    {
        var target = CreateObject(64);
        var link = "histoscale-test-link-" + Guid.NewGuid().ToString("N");
        File.CreateSymbolicLink(Path.Combine("/dev/shm", link), FileOf(target));
        _objects.Add(Path.Combine("/dev/shm", link));
        var region = Unique("link");
        using var response = await RegisterHttpAsync(region, "/" + link, 0, 16);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"'{region}'", await ErrorAsync(response));
        Assert.Contains("not a regular shared-memory object", await ErrorAsync(response));
    }

    [Theory]
    [InlineData(4000, 200)]
    [InlineData(5000, 1)]
    [InlineData(0, 4097)]
    public async Task RegionsPastTheObjectAreRefused(long offset, long byteSize)
    {
        var key = CreateObject(4096);
        var region = Unique("range");
        using var response = await RegisterHttpAsync(region, key, offset, byteSize);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Contains($"'{region}'", error);
        Assert.Contains("past the end", error);
    }

    [Fact]
    public async Task BadSharedMemoryReferencesInInferenceAreRequestErrors()
    {
        const int N = 2;
        var inputBytes = N * 3 * Tile * Tile * sizeof(float);
        var key = CreateObject(inputBytes + 8);
        var region = Unique("refs");
        await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, ByteSize = (ulong)(inputBytes + 8) });
        try
        {
            async Task<RpcException> InferAsync(string name, long offset, long size, long? outputSize = null)
            {
                var request = new ModelInferRequest { ModelName = "tissue_fp32" };
                request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
                {
                    Name = "image",
                    Datatype = "FP32",
                    Shape = { N, 3, Tile, Tile },
                    Parameters = { ["shared_memory_region"] = Str(name), ["shared_memory_offset"] = Int(offset), ["shared_memory_byte_size"] = Int(size) },
                });
                if (outputSize is { } o)
                {
                    request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor
                    {
                        Name = "scores",
                        Parameters = { ["shared_memory_region"] = Str(name), ["shared_memory_byte_size"] = Int(o) },
                    });
                }
                var ex = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.ModelInferAsync(request));
                Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
                return ex;
            }

            var unknown = await InferAsync("no_such_region", 0, inputBytes);
            Assert.Contains("Unable to find shared memory region: 'no_such_region'", unknown.Status.Detail);
            var outOfRange = await InferAsync(region, 16, inputBytes);
            Assert.Contains($"Invalid offset + byte size for shared memory region: '{region}'", outOfRange.Status.Detail);
            var wrongSize = await InferAsync(region, 0, inputBytes - 4);
            Assert.Contains($"region '{region}'", wrongSize.Status.Detail);
            var tooSmall = await InferAsync(region, 0, inputBytes, outputSize: 8);
            Assert.Contains("should be at least 24 bytes", tooSmall.Status.Detail);
            Assert.Contains($"'{region}'", tooSmall.Status.Detail);
        }
        finally
        {
            await server.Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = region });
        }

        // Over HTTP the same reference to an unknown region is a 400 naming it.
        var image = Requests.Input("image", "FP32", [N, 3, Tile, Tile]);
        image["parameters"] = new JsonObject { ["shared_memory_region"] = region, ["shared_memory_byte_size"] = inputBytes };
        using var response = await server.Http.PostAsync("/v2/models/tissue_fp32/infer", Requests.Json(new JsonObject { ["inputs"] = new JsonArray(image) }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"'{region}'", await ErrorAsync(response));
    }

    [Fact]
    public async Task ClientBySharedMemoryGivesWhatItGetsByBytesAndCleansUp()
    {
        await using var bytes = await KServeGrpcBackend.CreateAsync(new Uri(server.GrpcUrl), "tissue_fp32", null, new RemoteBackendOptions { Concurrency = 4 });
        string[] regions;
        await using (var shm = await KServeGrpcBackend.CreateAsync(new Uri(server.GrpcUrl), "tissue_fp32", null, new RemoteBackendOptions { Concurrency = 4, SharedMemory = SharedMemoryMode.System }))
        {
            // Concurrent requests of growing sizes: slots are reused, grown and re-registered.
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
            {
                var items = 1 + (i % 6);
                using var inputs = new TensorSet().Add("image", Tensor.FromValues<float>(TensorDataType.Fp32, TilesFp32(items, 400 + i), items, 3, Tile, Tile));
                using var expected = await bytes.ExecuteAsync(inputs);
                using var actual = await shm.ExecuteAsync(inputs);
                Assert.Equal(expected["scores"].ShapeArray(), actual["scores"].ShapeArray());
                Assert.Equal(expected["scores"].Bytes.ToArray(), actual["scores"].Bytes.ToArray()); // bit-identical
            })));
            regions = [.. (await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions.Values.Where(r => r.Key.StartsWith("/histoscale_", StringComparison.Ordinal)).Select(r => r.Name)];
            Assert.NotEmpty(regions);
            Assert.All(regions, r => Assert.True(File.Exists(Path.Combine("/dev/shm", r))));

            // The server forgets every region (as after a restart): the client registers its slot again and goes on.
            using (var all = await server.Http.PostAsync("/v2/systemsharedmemory/unregister", null))
            {
                Assert.Equal(HttpStatusCode.OK, all.StatusCode);
            }
            using var again = new TensorSet().Add("image", Tensor.FromValues<float>(TensorDataType.Fp32, TilesFp32(2, 499), 2, 3, Tile, Tile));
            using var expectedAgain = await bytes.ExecuteAsync(again);
            using var actualAgain = await shm.ExecuteAsync(again);
            Assert.Equal(expectedAgain["scores"].Bytes.ToArray(), actualAgain["scores"].Bytes.ToArray());
            regions = [.. (await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions.Values.Where(r => r.Key.StartsWith("/histoscale_", StringComparison.Ordinal)).Select(r => r.Name)];
            Assert.NotEmpty(regions);
        }
        var left = (await server.Grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions.Keys;
        Assert.All(regions, r =>
        {
            Assert.DoesNotContain(r, left);
            Assert.False(File.Exists(Path.Combine("/dev/shm", r)));
        });
    }

    [Fact]
    public async Task ConcurrentRequestsOnDistinctOffsetsOfOneRegion()
    {
        const int Requests_ = 8;
        const int N = 2;
        const int T = TestRepository.Tile; // mean_u8
        var inputBytes = N * 3 * T * T;
        var outputBytes = N * sizeof(float);
        var slot = inputBytes + outputBytes;
        var key = CreateObject(slot * Requests_);
        var pixels = Enumerable.Range(0, Requests_).Select(i => Requests.Pixels(N, T, seed: 100 + i)).ToArray();
        for (var i = 0; i < Requests_; i++)
        {
            Write(key, i * slot, pixels[i]);
        }
        var region = Unique("concurrent");
        await server.Grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = region, Key = key, ByteSize = (ulong)(slot * Requests_) });
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Requests_).Select(async i =>
            {
                var request = new ModelInferRequest { ModelName = "mean_u8" };
                request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
                {
                    Name = "image",
                    Datatype = "UINT8",
                    Shape = { N, 3, T, T },
                    Parameters = { ["shared_memory_region"] = Str(region), ["shared_memory_offset"] = Int(i * slot), ["shared_memory_byte_size"] = Int(inputBytes) },
                });
                request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor
                {
                    Name = "mean_intensity",
                    Parameters = { ["shared_memory_region"] = Str(region), ["shared_memory_offset"] = Int((i * slot) + inputBytes), ["shared_memory_byte_size"] = Int(outputBytes) },
                });
                await server.Grpc.ModelInferAsync(request);
            }));
            for (var i = 0; i < Requests_; i++)
            {
                var got = Requests.Floats(Read(key, (i * slot) + inputBytes, outputBytes));
                Assert.Equal(Requests.Means(pixels[i], N), got, (a, b) => Math.Abs(a - b) < 0.05);
            }
        }
        finally
        {
            await server.Grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = region });
        }
    }
}

/// <summary>The shared-memory endpoints behind Triton's restricted-API controls, on servers of their own.</summary>
public sealed class SharedMemoryRestrictedTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));
    private readonly string _object = Path.Combine("/dev/shm", "histoscale-test-" + Guid.NewGuid().ToString("N"));

    public SharedMemoryRestrictedTests()
    {
        Directory.CreateDirectory(_root);
        ModelRepositoryWriter.Write(_root, DemoModels.MeanIntensity(TensorDataType.UInt8, TestRepository.Tile, name: "mean_u8"));
        using var f = new FileStream(_object, FileMode.CreateNew);
        f.SetLength(1024);
    }

    public void Dispose()
    {
        TestRepository.Delete(_root);
        File.Delete(_object);
    }

    [Fact]
    public async Task RegisterNeedsTheRestrictedHeaderOnBothTransports()
    {
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with
        {
            HttpRestrictedApis = RestrictedApis.Parse(["shared-memory:shm-key=open"]),
            GrpcRestrictedProtocols = RestrictedApis.Parse(["shared-memory:shm-key=open"], RestrictedApis.GrpcHeaderPrefix),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        var key = "/" + Path.GetFileName(_object);

        HttpRequestMessage Register(bool withHeader)
        {
            var m = new HttpRequestMessage(HttpMethod.Post, "/v2/systemsharedmemory/region/r/register")
            {
                Content = Requests.Json(new JsonObject { ["key"] = key, ["offset"] = 0, ["byte_size"] = 1024 }),
            };
            if (withHeader)
            {
                m.Headers.Add("shm-key", "open");
            }
            return m;
        }

        using (var refused = await http.SendAsync(Register(false)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using (var ok = await http.SendAsync(Register(true)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest()));
        Assert.Equal(StatusCode.Unavailable, denied.StatusCode);
        var header = new Metadata { { RestrictedApis.GrpcHeaderPrefix + "shm-key", "open" } };
        var status = await grpc.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest(), header);
        Assert.Equal(key, status.Regions["r"].Key);
    }
}
