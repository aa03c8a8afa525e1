namespace Histoscale.Workers.Brokers;

/// <summary>
/// A queue of job messages on a broker, with at-least-once delivery: a message taken is invisible to other workers
/// until it is completed, retried, dead-lettered or returned; if its worker dies it is delivered again (a visibility
/// timeout, an unacked redelivery, a pending-entry claim: whatever the broker has). One implementation per broker.
/// </summary>
public interface IJobQueue : IAsyncDisposable
{
    /// <summary>The queue's URL without credentials, for messages and logs.</summary>
    string Name { get; }

    /// <summary>Adds a message.</summary>
    Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>Takes the next message (a new one, or one whose worker died); null when there is none now.</summary>
    Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default);

    /// <summary>Counts, as far as the broker tells them (null where it does not).</summary>
    Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default);

    /// <summary>Moves every dead-lettered message back to the queue with its attempts reset; returns how many.</summary>
    Task<int> RetryDeadAsync(CancellationToken cancellationToken = default);
}

/// <summary>One delivery of a message; exactly one of the settling calls ends it.</summary>
public interface IJobDelivery
{
    /// <summary>The message body.</summary>
    ReadOnlyMemory<byte> Body { get; }

    /// <summary>Which attempt this is: 1 for the first delivery; deliveries to workers that died count.</summary>
    int Attempt { get; }

    /// <summary>Done: the message is removed.</summary>
    Task CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>This attempt failed: the message goes back to the queue for another attempt.</summary>
    Task RetryAsync(string error, CancellationToken cancellationToken = default);

    /// <summary>Failed for good: the message moves to the dead-letter queue with <paramref name="error"/>.</summary>
    Task DeadLetterAsync(string error, CancellationToken cancellationToken = default);

    /// <summary>Not finished (the worker is stopping): back to the queue, this attempt not counted.</summary>
    Task ReturnAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Tells the broker the worker is alive and still on it (where the broker needs telling). Returns false when the
    /// message is no longer this worker's (it stalled past the visibility timeout and another worker took it): the
    /// caller must then stop working on it and not settle it; the other worker owns it now.
    /// </summary>
    Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default);
}

/// <summary>What <c>histoscale queue status</c> prints.</summary>
/// <param name="Pending">Messages waiting to be taken.</param>
/// <param name="Running">Messages taken and not yet settled; null where the broker does not tell.</param>
/// <param name="Completed">Jobs completed; null where the broker does not count them.</param>
/// <param name="Failed">Failed attempts (retried or dead-lettered); null where the broker does not count them.</param>
/// <param name="DeadLettered">Messages in the dead-letter queue.</param>
public sealed record QueueStatus(long Pending, long? Running, long? Completed, long? Failed, long DeadLettered);
