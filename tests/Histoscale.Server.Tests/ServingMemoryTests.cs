using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Histoscale.Inference.Config;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.KServe.Protocol;
using Histoscale.Server.Kserve;
using Histoscale.Server.Kserve.Grpc;
using Histoscale.Server.Tests.Support;
using Histoscale.Synthesis.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Histoscale.Server.Tests;

/// <summary>
/// Serving many small requests in bounded memory: tensor bytes are not copied into new large arrays per request,
/// the memory budget refuses what does not fit and recovers, and a soak of small concurrent requests with bad
/// clients among them settles. Alone in its collection: it measures the process's allocations and RSS.
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class ServingMemoryTests : IDisposable
{
    private const int Tile = 256; // one 3×256×256 UINT8 item: 196 608 bytes; a batch-4 request is 786 432 bytes
    private const int Items = 4;
    private static readonly int RequestBytes = Items * 3 * Tile * Tile;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    private readonly ITestOutputHelper _output;

    public ServingMemoryTests(ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_root);
        var mean = DemoModels.MeanIntensity(TensorDataType.UInt8, Tile, name: "mean");
        mean.Config.MaxBatchSize = 16;
        mean.Config.DynamicBatching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 2000 };
        ModelRepositoryWriter.Write(_root, mean);
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Fact]
    public async Task GrpcRequestTensorsAreNotCopiedIntoNewArraysPerRequest()
    {
        await using var server = await ServerFixture.StartAsync(_root);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        // One request object per client, sent again and again: the client side allocates no tensor bytes either.
        var requests = Enumerable.Range(0, 4).Select(c => Requests.Grpc("mean", "image", "UINT8", [Items, 3, Tile, Tile], Requests.Pixels(Items, Tile, seed: c))).ToArray();
        async Task SendAsync(int rounds) => await Task.WhenAll(requests.Select(async r =>
        {
            for (var i = 0; i < rounds; i++)
            {
                await grpc.ModelInferAsync(r);
            }
        }));
        await SendAsync(5); // warm: pools filled, code compiled

        const int rounds = 20;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await SendAsync(rounds);
        var perRequest = (GC.GetTotalAllocatedBytes(precise: true) - before) / (rounds * requests.Length);
        _output.WriteLine($"{perRequest} bytes allocated per request of {RequestBytes} tensor bytes (server and client in this process)");
        // Before: protobuf's parser put every request's tensor bytes into a new array (≥ RequestBytes per request).
        Assert.True(perRequest < RequestBytes / 4, $"{perRequest} bytes allocated per request of {RequestBytes} tensor bytes");
    }

    [Fact]
    public void PooledParserReadsEveryFieldAndKeepsRawContentsInOrder()
    {
        var request = new ModelInferRequest { ModelName = "m", ModelVersion = "2", Id = "req-7" };
        request.Parameters["sequence_id"] = new InferParameter { Int64Param = 42 };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "a", Datatype = "UINT8", Shape = { 1, 100_000 } });
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "b", Datatype = "FP32", Shape = { 1, 2 } });
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" });
        var big = Requests.Pixels(1, 200, seed: 3)[..100_000];
        request.RawInputContents.Add(ByteString.CopyFrom(big));
        request.RawInputContents.Add(ByteString.CopyFrom(Requests.Bytes(new[] { 1.5f, -2f })));
        var wire = request.ToByteArray();
        var pool = new BoundedBufferPool(1 << 20);

        // Split into small segments, as the HTTP/2 body arrives.
        var parsed = PooledInferRequests.Parse(Segments(wire, 4096), pool);

        Assert.Equal(request, parsed);
        PooledInferRequests.Return(parsed, pool);
        Assert.Empty(parsed.RawInputContents);
        Assert.True(pool.RetainedBytes >= 100_000, "the large input's buffer went back to the pool");
        Assert.Throws<InvalidDataException>(() => PooledInferRequests.Parse(new System.Buffers.ReadOnlySequence<byte>(wire[..^5]), pool));
    }

    [Fact]
    public async Task StreamMessagesRefusedByTheBudgetReturnTheirPooledBuffers()
    {
        var request = new ModelInferRequest { ModelName = "m", Id = "big" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "a", Datatype = "UINT8", Shape = { 1, 100_000 } });
        request.RawInputContents.Add(ByteString.CopyFrom(Requests.Pixels(1, 200, seed: 5)[..100_000]));
        var pool = new BoundedBufferPool(1 << 20);
        var parsed = PooledInferRequests.Parse(Segments(request.ToByteArray(), 4096), pool);
        Assert.Equal(0, pool.RetainedBytes);
        // A budget smaller than the message: refused before inference (the models are never asked).
        var service = new GrpcInferenceService(null!, new ServerState(), new RequestBufferPool(pool), new MemoryBudget(1000), new Histoscale.Server.Kserve.SharedMemory.SystemSharedMemory(), NullLogger<GrpcInferenceService>.Instance);
        var writer = new ListWriter();
        await service.ModelStreamInfer(new OneMessageReader(parsed), writer, new NoCallContext());
        Assert.Contains("memory budget", Assert.Single(writer.Messages).ErrorMessage, StringComparison.Ordinal);
        Assert.True(pool.RetainedBytes >= 100_000, "the refused message's buffer went back to the pool");
    }

    private sealed class OneMessageReader(ModelInferRequest message) : IAsyncStreamReader<ModelInferRequest>
    {
        private bool _read;

        public ModelInferRequest Current => message;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var more = !_read;
            _read = true;
            return Task.FromResult(more);
        }
    }

    private sealed class ListWriter : IServerStreamWriter<ModelStreamInferResponse>
    {
        public List<ModelStreamInferResponse> Messages { get; } = [];

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(ModelStreamInferResponse message)
        {
            Messages.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class NoCallContext : ServerCallContext
    {
        protected override string MethodCore => "ModelStreamInfer";
        protected override string HostCore => "test";
        protected override string PeerCore => "test";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore { get; } = new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    [Fact]
    public void BufferPoolKeepsAtMostItsLimitAndReusesBuffers()
    {
        var pool = new BoundedBufferPool(3L << 20);
        var a = pool.Rent(1_000_000);
        var b = pool.Rent(1_000_000);
        var c = pool.Rent(1_000_000);
        var d = pool.Rent(1_000_000);
        Assert.Equal(BoundedBufferPool.SizeClass(1_000_000), a.Length);
        foreach (var x in new[] { a, b, c, d })
        {
            pool.Return(x);
        }
        Assert.True(pool.RetainedBytes <= 3L << 20, $"retained {pool.RetainedBytes}");
        var allocated = pool.AllocatedBuffers;
        var again = pool.Rent(999_000); // same size class: reused
        Assert.Equal(allocated, pool.AllocatedBuffers);
        Assert.Contains(again, new[] { a, b, c, d });
    }

    [Fact]
    public async Task RequestsBeyondTheMemoryBudgetAreUnavailableAndTheServerRecovers()
    {
        // Room for two requests in flight: bursts of concurrent clients go beyond it.
        var budget = (2 * RequestBytes) + 4096;
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with { MemoryBudgetBytes = budget });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.MetricsPort}") };
        var pixels = Requests.Pixels(Items, Tile, seed: 1);
        var request = Requests.Grpc("mean", "image", "UINT8", [Items, 3, Tile, Tile], pixels);
        var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [Items, 3, Tile, Tile], binarySize: pixels.Length)) };

        // A request larger than the whole budget never fits.
        var huge = Requests.Grpc("mean", "image", "UINT8", [12, 3, Tile, Tile], Requests.Pixels(12, Tile, seed: 2));
        var tooBig = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(huge));
        Assert.Equal(StatusCode.Unavailable, tooBig.StatusCode);
        Assert.Contains("exceeds the server's memory budget", tooBig.Status.Detail, StringComparison.Ordinal);

        int ok = 0, grpcRejected = 0, httpRejected = 0;
        for (var burst = 0; burst < 8 && (grpcRejected == 0 || httpRejected == 0); burst++)
        {
            var calls = Enumerable.Range(0, 12).Select(async i =>
            {
                if (i % 2 == 0)
                {
                    try
                    {
                        await grpc.ModelInferAsync(request);
                        Interlocked.Increment(ref ok);
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                    {
                        Assert.Contains("memory budget", ex.Status.Detail, StringComparison.Ordinal);
                        Interlocked.Increment(ref grpcRejected);
                    }
                    return;
                }
                using var response = await http.PostAsync("/v2/models/mean/infer", Requests.Binary(header, pixels));
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
                    Assert.Contains("memory budget", error, StringComparison.Ordinal);
                    Interlocked.Increment(ref httpRejected);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Interlocked.Increment(ref ok);
                }
            });
            await Task.WhenAll(calls);
        }
        Assert.True(grpcRejected > 0 && httpRejected > 0, $"expected rejections over both transports (gRPC {grpcRejected}, HTTP {httpRejected}, ok {ok})");
        Assert.True(ok > 0, "requests within the budget are served");

        // Recovery: nothing is held once the burst is over, and requests are served again.
        Assert.Equal(0, await MetricAsync(metrics, "histoscale_memory_budget_used_bytes"));
        Assert.Equal(budget, await MetricAsync(metrics, "histoscale_memory_budget_bytes"));
        Assert.True(await MetricAsync(metrics, "histoscale_memory_budget_rejected_total") >= grpcRejected + httpRejected + 1);
        var answer = await grpc.ModelInferAsync(request);
        Assert.Equal(Requests.Means(pixels, Items), Requests.Floats(answer.RawOutputContents[0]), (a, b) => Math.Abs(a - b) < 1e-3);
    }

    [Theory]
    [InlineData("chunked")]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task ChunkedAndCompressedBodiesAreCountedAsTheyAreReadNotAtWireSize(string kind)
    {
        // Room for one batch-4 request, not for a batch-12 one; the compressed batch-12 body is far smaller on the wire.
        var budget = RequestBytes + 8192;
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with { MemoryBudgetBytes = budget, MaxRequestBodyBytes = 64L << 20 });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.MetricsPort}") };

        async Task<HttpResponseMessage> SendAsync(int items)
        {
            var pixels = new byte[items * 3 * Tile * Tile];
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = (byte)((i / 1024) % 7); // compresses well
            }
            var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [items, 3, Tile, Tile], binarySize: pixels.Length)) };
            var plain = await Requests.Binary(header, pixels).ReadAsByteArrayAsync();
            var body = plain;
            if (kind != "chunked")
            {
                var packed = new MemoryStream();
                await using (Stream z = kind == "gzip" ? new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)
                    : new System.IO.Compression.ZLibStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
                {
                    await z.WriteAsync(plain);
                }
                body = packed.ToArray();
                Assert.True(body.Length < budget / 4, $"compressed body {body.Length} bytes");
            }
            var message = new HttpRequestMessage(HttpMethod.Post, "/v2/models/mean/infer") { Content = new StreamContent(new NonSeekable(body)) };
            message.Headers.TransferEncodingChunked = true;
            if (kind != "chunked")
            {
                message.Content.Headers.ContentEncoding.Add(kind);
            }
            message.Content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", (plain.Length - pixels.Length).ToString(CultureInfo.InvariantCulture));
            return await http.SendAsync(message);
        }

        using (var small = await SendAsync(Items))
        {
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        }
        using (var large = await SendAsync(12))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, large.StatusCode);
            var error = JsonDocument.Parse(await large.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
            Assert.Contains("memory budget", error, StringComparison.Ordinal);
        }
        Assert.Equal(0, await MetricAsync(metrics, "histoscale_memory_budget_used_bytes"));
        Assert.True(await MetricAsync(metrics, "histoscale_memory_budget_rejected_total") >= 1);
    }

    /// <summary>A body whose length the client cannot know: sent with chunked transfer encoding.</summary>
    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task MetricsReportCpuMemoryAndGcHeap()
    {
        await using var server = await ServerFixture.StartAsync(_root);
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.MetricsPort}") };
        var total = await MetricAsync(metrics, "nv_cpu_memory_total_bytes");
        var used = await MetricAsync(metrics, "nv_cpu_memory_used_bytes");
        Assert.True(total > 0 && used > 0 && used <= total, $"total {total}, used {used}");
        Assert.True(await MetricAsync(metrics, "histoscale_gc_heap_size_bytes") > 0);
        Assert.True(await MetricAsync(metrics, "histoscale_process_resident_memory_bytes") > 0);
        Assert.Equal(0, await MetricAsync(metrics, "histoscale_memory_budget_bytes"));
    }

    /// <summary>
    /// A bounded soak: small concurrent requests over both transports for 24 s with bad clients among them (calls
    /// cancelled mid-flight, stream readers that never read, oversized messages). No good request fails, RSS does
    /// not grow between the second and last thirds, and nothing stays reserved afterwards.
    /// </summary>
    [Fact]
    public async Task SoakOfSmallConcurrentRequestsSettlesWithBadClientsAround()
    {
        await using var server = await ServerFixture.StartAsync(_root, configure: o => o with { MaxGrpcMessageBytes = 4 << 20, MemoryBudgetBytes = 256L << 20 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.MetricsPort}") };
        var duration = TimeSpan.FromSeconds(24);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        long served = 0;

        async Task GoodGrpcAsync(int seed)
        {
            var pixels = Requests.Pixels(Items, Tile, seed);
            var expected = Requests.Means(pixels, Items);
            var request = Requests.Grpc("mean", "image", "UINT8", [Items, 3, Tile, Tile], pixels);
            while (clock.Elapsed < duration)
            {
                try
                {
                    var answer = await grpc.ModelInferAsync(request);
                    if (!expected.SequenceEqual(Requests.Floats(answer.RawOutputContents[0]), new Close()))
                    {
                        lock (failures)
                        {
                            failures.Add($"gRPC client {seed}: wrong answer");
                        }
                    }
                    Interlocked.Increment(ref served);
                }
                catch (RpcException ex)
                {
                    lock (failures)
                    {
                        failures.Add($"gRPC client {seed}: {ex.StatusCode} {ex.Status.Detail}");
                    }
                }
            }
        }

        async Task GoodHttpAsync(int seed)
        {
            var pixels = Requests.Pixels(Items, Tile, seed);
            var header = new JsonObject { ["inputs"] = new JsonArray(Requests.Input("image", "UINT8", [Items, 3, Tile, Tile], binarySize: pixels.Length)) };
            while (clock.Elapsed < duration)
            {
                using var response = await http.PostAsync("/v2/models/mean/infer", Requests.Binary(header, pixels));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    var body = await response.Content.ReadAsStringAsync();
                    lock (failures)
                    {
                        failures.Add($"HTTP client {seed}: {(int)response.StatusCode} {body}");
                    }
                }
                Interlocked.Increment(ref served);
            }
        }

        async Task CancellingAsync()
        {
            var request = Requests.Grpc("mean", "image", "UINT8", [Items, 3, Tile, Tile], Requests.Pixels(Items, Tile, seed: 99));
            var delays = new Random(7);
            while (clock.Elapsed < duration)
            {
                using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(1 + delays.Next(30)));
                try
                {
                    await grpc.ModelInferAsync(request, cancellationToken: cancel.Token);
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded)
                {
                }
                catch (RpcException ex) when (cancel.IsCancellationRequested && ex.StatusCode == StatusCode.Internal && ex.InnerException is ObjectDisposedException)
                {
                    // Grpc.Net.Client's own race: a cancel landing while the call reads the response headers
                    // disposes the content under it and surfaces as INTERNAL; the server is not involved.
                }
            }
        }

        async Task NonReadingStreamsAsync()
        {
            var request = Requests.Grpc("mean", "image", "UINT8", [Items, 3, Tile, Tile], Requests.Pixels(Items, Tile, seed: 98));
            while (clock.Elapsed < duration)
            {
                // Sends a few requests, never reads the answers, and goes away.
                using var call = grpc.ModelStreamInfer();
                for (var i = 0; i < 4; i++)
                {
                    await call.RequestStream.WriteAsync(request);
                }
                await Task.Delay(500);
            }
        }

        async Task OversizedAsync()
        {
            var request = Requests.Grpc("mean", "image", "UINT8", [8, 3, Tile, Tile], Requests.Pixels(8, Tile, seed: 97)); // 1.5 MiB, under the limit
            var oversized = Requests.Grpc("mean", "image", "UINT8", [16, 3, 512, 256], Requests.Pixels(32, Tile, seed: 96)); // 6 MiB, over it
            while (clock.Elapsed < duration)
            {
                var ex = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(oversized));
                Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
                await grpc.ModelInferAsync(request);
                await Task.Delay(100);
            }
        }

        var rss = new List<(double Seconds, long Bytes)>();
        async Task SampleAsync()
        {
            using var process = Process.GetCurrentProcess();
            while (clock.Elapsed < duration)
            {
                process.Refresh();
                rss.Add((clock.Elapsed.TotalSeconds, process.WorkingSet64));
                await Task.Delay(250);
            }
        }

        await Task.WhenAll(
            [.. Enumerable.Range(0, 8).Select(GoodGrpcAsync), .. Enumerable.Range(100, 4).Select(GoodHttpAsync), CancellingAsync(), NonReadingStreamsAsync(), OversizedAsync(), SampleAsync()]);

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.True(served > 100, $"only {served} requests served");
        var third = duration.TotalSeconds / 3;
        var second = rss.Where(s => s.Seconds >= third && s.Seconds < 2 * third).Max(s => s.Bytes);
        var last = rss.Where(s => s.Seconds >= 2 * third).Select(s => s.Bytes).Order().ToArray();
        var lastMedian = last[last.Length / 2];
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{served} requests; RSS second third peak {second >> 20} MiB, last third median {lastMedian >> 20} MiB, max {rss.Max(s => s.Bytes) >> 20} MiB"));
        // Settled: the last third's median RSS within 10 % (+ 32 MiB of slack) of the second third's peak.
        Assert.True(lastMedian <= (second * 1.1) + (32 << 20),
            string.Create(CultureInfo.InvariantCulture, $"RSS grew: second third peak {second >> 20} MiB, last third median {lastMedian >> 20} MiB"));
        // Nothing stays reserved by the bad clients once their calls are gone.
        var deadline = Stopwatch.StartNew();
        while (await MetricAsync(metrics, "histoscale_memory_budget_used_bytes") != 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, await MetricAsync(metrics, "histoscale_memory_budget_used_bytes"));
    }

    private static async Task<long> MetricAsync(HttpClient metrics, string name)
    {
        var text = await metrics.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"/metrics has no {name}:\n{text}");
        return long.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private static System.Buffers.ReadOnlySequence<byte> Segments(byte[] data, int size)
    {
        Segment? first = null, last = null;
        for (var i = 0; i < data.Length; i += size)
        {
            var chunk = data.AsMemory(i, Math.Min(size, data.Length - i));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }
        return new System.Buffers.ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private sealed class Close : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) < 1e-3;

        public int GetHashCode(float value) => 0;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
    public const string Name = "serving memory";
}
