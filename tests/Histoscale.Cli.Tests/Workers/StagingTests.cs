using System.Collections.Concurrent;
using Histoscale.Storage;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Jobs;
using Histoscale.Workers.Running;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// Local staging folders of jobs whose outputs go to an object store: removed when a job fails finally or is
/// dead-lettered, kept while another attempt may resume from them, and swept at start once a day old.
/// </summary>
public sealed class StagingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hs-staging-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private string Root => Path.Combine(_dir, "histoscale-staging");

    private WorkerOptions Options(int maxAttempts) => new()
    {
        MaxAttempts = maxAttempts,
        IdleExit = TimeSpan.Zero,
        PollInterval = TimeSpan.FromMilliseconds(10),
        StagingDirectory = _dir,
        ObjectStores = new ObjectStoreProvider(new StorageOptions()),
    };

    private static SlideJob Job(string id) => new()
    {
        Id = id,
        BatchId = "test",
        Slide = "/slides/case-7.svs",
        Model = "/models/none.onnx",
        Output = "s3://results/runs/one",
        Parameters = new JobParameters { Batch = 4, DetectTissue = false },
    };

    private static JobModelLoader FailingLoader => (_, _, _) => throw new IOException("model store unreachable");

    [Fact]
    public async Task AFinallyFailedJobsStagingFolderIsRemovedAndARetriedOnesKept()
    {
        var retried = new MemoryQueue(Job("retry-me"), attempt: 1);
        var summary = await new SlideWorker(retried, FailingLoader, Options(maxAttempts: 2)).RunAsync();
        Assert.Equal(1, summary.Failed);
        Assert.Equal(["retry"], retried.Settled);
        Assert.Single(Directory.GetDirectories(Root)); // another attempt may come back to this worker and resume

        var last = new MemoryQueue(Job("give-up"), attempt: 2);
        summary = await new SlideWorker(last, FailingLoader, Options(maxAttempts: 2)).RunAsync();
        Assert.Equal(1, summary.DeadLettered);
        Assert.Equal(["dead"], last.Settled);
        var left = Assert.Single(Directory.GetDirectories(Root));
        Assert.StartsWith("retry-me-", Path.GetFileName(left));

        // Delivered once too often (its earlier attempts died on this worker): dead-lettered, its staging removed.
        var tooMany = new MemoryQueue(Job("retry-me"), attempt: 3);
        summary = await new SlideWorker(tooMany, FailingLoader, Options(maxAttempts: 2)).RunAsync();
        Assert.Equal(1, summary.DeadLettered);
        Assert.Empty(Directory.GetDirectories(Root));
    }

    [Fact]
    public async Task StaleStagingFoldersAreSweptAtStartAndFreshOnesKept()
    {
        var stale = Path.Combine(Root, "old-job-case-1");
        var fresh = Path.Combine(Root, "busy-job-case-2");
        Directory.CreateDirectory(Path.Combine(stale, ".histoscale"));
        Directory.CreateDirectory(fresh);
        await File.WriteAllTextAsync(Path.Combine(stale, ".histoscale", "case-1.results.bin"), "x");
        await File.WriteAllTextAsync(Path.Combine(fresh, "case-2.tiles.csv.partial"), "y");
        var old = DateTime.UtcNow - SlideWorker.StaleStagingAge - TimeSpan.FromHours(1);
        File.SetLastWriteTimeUtc(Path.Combine(stale, ".histoscale", "case-1.results.bin"), old);
        Directory.SetLastWriteTimeUtc(Path.Combine(stale, ".histoscale"), old);
        Directory.SetLastWriteTimeUtc(stale, old);
        Directory.SetLastWriteTimeUtc(fresh, old); // a file in it was written just now: in use

        var summary = await new SlideWorker(new MemoryQueue(null, 1), FailingLoader, Options(maxAttempts: 2)).RunAsync();
        Assert.Equal(0, summary.Failed);
        Assert.False(Directory.Exists(stale));
        Assert.True(File.Exists(Path.Combine(fresh, "case-2.tiles.csv.partial")));
    }

    /// <summary>A queue holding at most one job, delivered once with the given attempt; records how it was settled.</summary>
    private sealed class MemoryQueue(SlideJob? job, int attempt) : IJobQueue
    {
        private SlideJob? _job = job;

        public ConcurrentQueue<string> Settled { get; } = new();

        public string Name => "memory://test";

        public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
        {
            var taken = Interlocked.Exchange(ref _job, null);
            return Task.FromResult<IJobDelivery?>(taken is null ? null : new Delivery(this, taken.ToJson(), attempt));
        }

        public Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default) => Task.FromResult(new QueueStatus(0, null, null, null, 0));

        public Task<int> RetryDeadAsync(CancellationToken cancellationToken = default) => Task.FromResult(0);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Delivery(MemoryQueue q, ReadOnlyMemory<byte> body, int attempt) : IJobDelivery
        {
            public ReadOnlyMemory<byte> Body { get; } = body;

            public int Attempt { get; } = attempt;

            public Task CompleteAsync(CancellationToken cancellationToken = default) => Settle("complete");

            public Task RetryAsync(string error, CancellationToken cancellationToken = default) => Settle("retry");

            public Task DeadLetterAsync(string error, CancellationToken cancellationToken = default) => Settle("dead");

            public Task ReturnAsync(CancellationToken cancellationToken = default) => Settle("return");

            public Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

            private Task Settle(string how)
            {
                q.Settled.Enqueue(how);
                return Task.CompletedTask;
            }
        }
    }
}
