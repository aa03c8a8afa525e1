using Histoscale.Workers.Brokers;
using Histoscale.Workers.Running;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// A broker that stays unusable: the worker gives up after <see cref="WorkerOptions.MaxBrokerErrors"/> failures in
/// a row instead of retrying forever, so that its process exits non-zero and the orchestrator restarts it. (A queue
/// that always fails stands in for a broker that stays down: the shared test brokers cannot be stopped mid-suite.)
/// </summary>
public sealed class BrokerFailureTests
{
    [Fact]
    public async Task AWorkerGivesUpAfterTooManyBrokerErrorsInARow()
    {
        var queue = new FailingQueue();
        var worker = new SlideWorker(queue, (_, _, _) => throw new InvalidOperationException("no job expected"), new WorkerOptions { MaxBrokerErrors = 2 });
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a guard only: the old worker looped forever
        var ex = await Assert.ThrowsAsync<WorkerBrokerException>(() => worker.RunAsync(limit.Token));
        Assert.False(limit.IsCancellationRequested);
        Assert.Equal(2, queue.Takes);
        Assert.Contains("2 failures in a row", ex.Message);
        Assert.Contains("connection reset by the test broker", ex.Message);
        Assert.Contains("failing://test", ex.Message);
    }

    [Fact]
    public void CliExitsOneWhenTheWorkerGivesUp()
    {
        Assert.False(CliRunner.IsInputError(new WorkerBrokerException("x", new IOException("y"))));
    }

    private sealed class FailingQueue : IJobQueue
    {
        public int Takes { get; private set; }

        public string Name => "failing://test";

        public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) => throw new IOException("connection reset by the test broker");

        public Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
        {
            Takes++;
            throw new IOException("connection reset by the test broker");
        }

        public Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default) => throw new IOException("connection reset by the test broker");

        public Task<int> RetryDeadAsync(CancellationToken cancellationToken = default) => throw new IOException("connection reset by the test broker");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
