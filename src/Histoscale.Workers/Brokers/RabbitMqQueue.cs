using System.Globalization;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

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

    private readonly ConnectionFactory _factory;
    private readonly string _queue;
    private readonly string _dead;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    // Bumped each time a new connection is opened: a delivery tag is only meaningful on the channel that gave it.
    private int _generation;

    private RabbitMqQueue(ConnectionFactory factory, string name, string queue)
    {
        _factory = factory;
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
            // Recovery is ours (a new connection and channel on the next call after one is lost, see Channel), so a
            // delivery from the lost channel is known to be gone instead of being acked on a recovered one.
            AutomaticRecoveryEnabled = false,
            ClientProvidedName = "histoscale",
        };
        var q = new RabbitMqQueue(factory, name, queue);
        await q.Locked(async () => await q.Channel(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return q;
    }

    /// <summary>
    /// The open channel; a new connection and channel (queues declared again) when there is none or the broker
    /// dropped the last one (restart, network loss, closed from the server side). Called under the lock.
    /// </summary>
    private async Task<IChannel> Channel(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open && _connection is { IsOpen: true })
        {
            return open;
        }
        await DropConnection().ConfigureAwait(false);
        var connection = await _factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(_queue, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(_dead, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            _connection = connection;
            _channel = channel;
            _generation++;
            return channel;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task DropConnection()
    {
        var (connection, channel) = (_connection, _channel);
        (_connection, _channel) = (null, null);
        try
        {
            if (channel is { IsOpen: true })
            {
                await channel.CloseAsync().ConfigureAwait(false);
            }
            if (connection is { IsOpen: true })
            {
                await connection.CloseAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Closing a connection the broker already dropped: nothing left to release on its side.
        }
        channel?.Dispose();
        connection?.Dispose();
    }

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        Locked(() => Publish(_queue, message, 0, null, cancellationToken));

    public Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default) => Locked<IJobDelivery?>(async () =>
    {
        var channel = await Channel(cancellationToken).ConfigureAwait(false);
        var result = await channel.BasicGetAsync(_queue, autoAck: false, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return null;
        }
        var headers = result.BasicProperties.Headers;
        var prior = Header(headers, AttemptsHeader);
        var redeliveries = Header(headers, "x-delivery-count");
        return new Delivery(this, _generation, result.DeliveryTag, result.Body.ToArray(), prior + redeliveries + 1);
    });

    public Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default) => Locked(async () =>
    {
        var channel = await Channel(cancellationToken).ConfigureAwait(false);
        var queue = await channel.QueueDeclarePassiveAsync(_queue, cancellationToken).ConfigureAwait(false);
        var dead = await channel.QueueDeclarePassiveAsync(_dead, cancellationToken).ConfigureAwait(false);
        return new QueueStatus(queue.MessageCount, null, null, null, dead.MessageCount);
    });

    public Task<int> RetryDeadAsync(CancellationToken cancellationToken = default) => Locked(async () =>
    {
        var moved = 0;
        var channel = await Channel(cancellationToken).ConfigureAwait(false);
        while (await channel.BasicGetAsync(_dead, autoAck: false, cancellationToken).ConfigureAwait(false) is { } result)
        {
            await Publish(_queue, result.Body.ToArray(), 0, null, cancellationToken).ConfigureAwait(false);
            await channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
            moved++;
        }
        return moved;
    });

    public async ValueTask DisposeAsync()
    {
        await DropConnection().ConfigureAwait(false);
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
        var channel = await Channel(cancellationToken).ConfigureAwait(false);
        await channel.BasicPublishAsync("", queue, mandatory: false, properties, body, cancellationToken).ConfigureAwait(false);
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
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException or System.Net.Sockets.SocketException or BrokerUnreachableException)
        {
            // The connection is gone (broker restarted, network lost, closed from the server side): the next call
            // opens a new one; this one reports the error to the caller (the worker backs off and tries again).
            await DropConnection().ConfigureAwait(false);
            throw;
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

    private sealed class Delivery(RabbitMqQueue q, int generation, ulong tag, byte[] body, int attempt) : IJobDelivery
    {
        public ReadOnlyMemory<byte> Body => body;

        public int Attempt { get; } = attempt;

        public Task CompleteAsync(CancellationToken cancellationToken = default) => q.Locked(async () =>
        {
            var channel = await SameChannel(cancellationToken).ConfigureAwait(false);
            await channel.BasicAckAsync(tag, multiple: false, cancellationToken).ConfigureAwait(false);
        });

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => Republish(q._queue, Attempt, error, cancellationToken);

        public Task DeadLetterAsync(string error, CancellationToken cancellationToken = default) => Republish(q._dead, Attempt, error, cancellationToken);

        public Task ReturnAsync(CancellationToken cancellationToken = default) => Republish(q._queue, Attempt - 1, null, cancellationToken);

        // Held while the connection that delivered it lives; when it is lost the broker delivers the message again.
        public Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(q._generation == generation && q._channel is { IsOpen: true });

        private Task Republish(string queue, int attempts, string? error, CancellationToken cancellationToken) => q.Locked(async () =>
        {
            var channel = await SameChannel(cancellationToken).ConfigureAwait(false);
            await q.Publish(queue, body, attempts, error, cancellationToken).ConfigureAwait(false);
            await channel.BasicAckAsync(tag, multiple: false, cancellationToken).ConfigureAwait(false);
        });

        /// <summary>The channel this message came on: its delivery tag means nothing on another one.</summary>
        private async Task<IChannel> SameChannel(CancellationToken cancellationToken)
        {
            var channel = await q.Channel(cancellationToken).ConfigureAwait(false);
            if (q._generation != generation)
            {
                throw new InvalidOperationException("the connection that delivered this job was lost; the broker delivers it again");
            }
            return channel;
        }
    }
}
