using System.Globalization;
using System.Text;
using RabbitMQ.Client;

namespace Histoscale.Workers.Brokers;

/// <summary>
/// Jobs on a RabbitMQ quorum queue, taken with basic.get and manual acknowledgement: an unacknowledged message goes
/// back to the queue when its worker's connection drops (the worker died), and the queue counts those deliveries
/// (x-delivery-count). A retried or returned job is published again with its attempts so far in a header and the
/// old delivery acknowledged (published first, with publisher confirms: at worst a duplicate, never a loss).
/// Dead letters go to NAME.dead with the last error in a header. RabbitMQ keeps no completed/failed counters and
/// tells unacknowledged counts only through its management API, so those status fields are null.
/// </summary>
internal sealed class RabbitMqQueue : IJobQueue
{
    private const string AttemptsHeader = "x-histoscale-attempts";
    private const string ErrorHeader = "x-histoscale-error";

    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _queue;
    private readonly string _dead;
    private readonly SemaphoreSlim _lock = new(1, 1);

    private RabbitMqQueue(IConnection connection, IChannel channel, string name, string queue)
    {
        _connection = connection;
        _channel = channel;
        Name = name;
        _queue = queue;
        _dead = queue + ".dead";
    }

    public string Name { get; }

    public static async Task<RabbitMqQueue> ConnectAsync(Uri uri, string name, string queue, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = new UriBuilder(uri) { Query = "" }.Uri,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(3),
            AutomaticRecoveryEnabled = false,
            ClientProvidedName = "histoscale",
        };
        var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(queue + ".dead", durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new RabbitMqQueue(connection, channel, name, queue);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        Locked(() => Publish(_queue, message, 0, null, cancellationToken));

    public Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default) => Locked<IJobDelivery?>(async () =>
    {
        var result = await _channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return null;
        }
        var headers = result.BasicProperties.Headers;
        var prior = Header(headers, AttemptsHeader);
        var redeliveries = Header(headers, "x-delivery-count");
        return new Delivery(this, result.DeliveryTag, result.Body.ToArray(), prior + redeliveries + 1);
    });

    public Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default) => Locked(async () =>
    {
        var queue = await _channel.QueueDeclarePassiveAsync(_queue, cancellationToken).ConfigureAwait(false);
        var dead = await _channel.QueueDeclarePassiveAsync(_dead, cancellationToken).ConfigureAwait(false);
        return new QueueStatus(queue.MessageCount, null, null, null, dead.MessageCount);
    });

    public Task<int> RetryDeadAsync(CancellationToken cancellationToken = default) => Locked(async () =>
    {
        var moved = 0;
        while (await _channel.BasicGetAsync(_dead, autoAck: false, cancellationToken).ConfigureAwait(false) is { } result)
        {
            await Publish(_queue, result.Body.ToArray(), 0, null, cancellationToken).ConfigureAwait(false);
            await _channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
            moved++;
        }
        return moved;
    });

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.CloseAsync().ConfigureAwait(false);
            await _connection.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Closing a connection the broker already dropped: nothing left to release on its side.
        }
        _channel.Dispose();
        _connection.Dispose();
        _lock.Dispose();
    }

    private async ValueTask Publish(string queue, ReadOnlyMemory<byte> body, int attempts, string? error, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, object?> { [AttemptsHeader] = attempts };
        if (error is not null)
        {
            headers[ErrorHeader] = error;
        }
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json", Headers = headers };
        await _channel.BasicPublishAsync("", queue, mandatory: false, properties, body, cancellationToken).ConfigureAwait(false);
    }

    private static int Header(IDictionary<string, object?>? headers, string name) =>
        headers is null || !headers.TryGetValue(name, out var value) ? 0 : value switch
        {
            int i => i,
            long l => (int)l,
            short s => s,
            byte b => b,
            byte[] text when int.TryParse(Encoding.UTF8.GetString(text), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
            _ => 0,
        };

    private async Task<T> Locked<T>(Func<Task<T>> action)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    private Task Locked(Func<ValueTask> action) => Locked(async () =>
    {
        await action().ConfigureAwait(false);
        return true;
    });

    private sealed class Delivery(RabbitMqQueue q, ulong tag, byte[] body, int attempt) : IJobDelivery
    {
        public ReadOnlyMemory<byte> Body => body;

        public int Attempt { get; } = attempt;

        public Task CompleteAsync(CancellationToken cancellationToken = default) =>
            q.Locked(() => q._channel.BasicAckAsync(tag, multiple: false, cancellationToken));

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => Republish(q._queue, Attempt, error, cancellationToken);

        public Task DeadLetterAsync(string error, CancellationToken cancellationToken = default) => Republish(q._dead, Attempt, error, cancellationToken);

        public Task ReturnAsync(CancellationToken cancellationToken = default) => Republish(q._queue, Attempt - 1, null, cancellationToken);

        public Task KeepAliveAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        private Task Republish(string queue, int attempts, string? error, CancellationToken cancellationToken) => q.Locked(async () =>
        {
            await q.Publish(queue, body, attempts, error, cancellationToken).ConfigureAwait(false);
            await q._channel.BasicAckAsync(tag, multiple: false, cancellationToken).ConfigureAwait(false);
        });
    }
}
