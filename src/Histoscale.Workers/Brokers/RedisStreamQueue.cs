using System.Globalization;
using StackExchange.Redis;

namespace Histoscale.Workers.Brokers;

/// <summary>
/// Jobs on a Redis stream read through a consumer group. A taken entry stays in the group's pending-entries list
/// until settled; a live worker keeps it fresh (XCLAIM JUSTID to itself, which resets its idle time without counting
/// a delivery, and only while the entry is still its own: a worker that stalled past the timeout and lost it to
/// another stops, and neither refreshes nor settles it); an entry idle for longer than the visibility timeout belongs to a dead worker and is claimed by the
/// next worker that asks (XAUTOCLAIM, which counts a delivery). Attempts = the attempts field an entry was added
/// with + its delivery count. Settled entries are acknowledged and deleted, so the stream holds only work not done.
/// Keys: NAME (stream), NAME:dead (dead-letter stream, with the last error), NAME:completed and NAME:failed (counters).
/// </summary>
internal sealed class RedisStreamQueue : IJobQueue
{
    private const string Group = "histoscale-workers";
    private const string JobField = "job";
    private const string AttemptsField = "attempts";

    /// <summary>XCLAIM JUSTID (idle time reset, no delivery counted) of an entry only if this consumer still holds it; 1 when it did.</summary>
    private const string KeepAliveScript = """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
        if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
        return 1
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly RedisKey _stream;
    private readonly RedisKey _dead;
    private readonly RedisKey _completed;
    private readonly RedisKey _failed;
    private readonly string _consumer;
    private readonly long _visibilityMs;

    private RedisStreamQueue(ConnectionMultiplexer redis, int db, string name, string queue, string consumer, TimeSpan visibility)
    {
        _redis = redis;
        _db = redis.GetDatabase(db);
        Name = name;
        _stream = queue;
        _dead = queue + ":dead";
        _completed = queue + ":completed";
        _failed = queue + ":failed";
        _consumer = consumer;
        _visibilityMs = Math.Max(1, (long)visibility.TotalMilliseconds);
    }

    public string Name { get; }

    public static async Task<RedisStreamQueue> ConnectAsync(Uri uri, string name, string queue, string consumer, QueueOptions options, CancellationToken cancellationToken)
    {
        var db = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out db))
        {
            throw new QueueConfigException($"queue URL '{name}': the path must be a database number, not '{path}'");
        }
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = true,
            ConnectTimeout = 3000,
            ConnectRetry = 1,
            ClientName = "histoscale",
        };
        config.EndPoints.Add(uri.Host, uri.Port > 0 ? uri.Port : 6379);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                config.User = parts[0].Length > 0 ? Uri.UnescapeDataString(parts[0]) : null;
                config.Password = Uri.UnescapeDataString(parts[1]);
            }
            else
            {
                config.Password = Uri.UnescapeDataString(parts[0]);
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        var redis = await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
        var queueObj = new RedisStreamQueue(redis, db, name, queue, consumer, options.VisibilityTimeout);
        try
        {
            await queueObj._db.StreamCreateConsumerGroupAsync(queueObj._stream, Group, StreamPosition.Beginning, createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another worker made it first.
        }
        catch
        {
            await redis.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return queueObj;
    }

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        _db.StreamAddAsync(_stream, [new NameValueEntry(JobField, message), new NameValueEntry(AttemptsField, 0)]);

    public async Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // First an entry whose worker stopped keeping it alive (died), then a new one.
        var claimed = await _db.StreamAutoClaimAsync(_stream, Group, _consumer, _visibilityMs, "0-0", 1).ConfigureAwait(false);
        // An empty claim can come back as one entry without an id.
        var entry = claimed.ClaimedEntries.FirstOrDefault(e => !e.Id.IsNull);
        if (entry.Id.IsNull)
        {
            var fresh = await _db.StreamReadGroupAsync(_stream, Group, _consumer, StreamPosition.NewMessages, 1).ConfigureAwait(false);
            if (fresh.Length == 0)
            {
                return null;
            }
            entry = fresh[0];
        }
        var pending = await _db.StreamPendingMessagesAsync(_stream, Group, 1, _consumer, entry.Id, entry.Id).ConfigureAwait(false);
        var deliveries = pending.Length > 0 ? pending[0].DeliveryCount : 1;
        var prior = entry[AttemptsField].TryParse(out int n) ? n : 0;
        return new Delivery(this, entry.Id, entry[JobField], prior + deliveries);
    }

    public async Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var length = await _db.StreamLengthAsync(_stream).ConfigureAwait(false);
        var running = (await _db.StreamPendingAsync(_stream, Group).ConfigureAwait(false)).PendingMessageCount;
        var completed = (long?)await _db.StringGetAsync(_completed).ConfigureAwait(false) ?? 0;
        var failed = (long?)await _db.StringGetAsync(_failed).ConfigureAwait(false) ?? 0;
        var dead = await _db.StreamLengthAsync(_dead).ConfigureAwait(false);
        return new QueueStatus(Math.Max(0, length - running), running, completed, failed, dead);
    }

    public async Task<int> RetryDeadAsync(CancellationToken cancellationToken = default)
    {
        var moved = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entries = await _db.StreamRangeAsync(_dead, "-", "+", 100).ConfigureAwait(false);
            if (entries.Length == 0)
            {
                return moved;
            }
            foreach (var e in entries)
            {
                var t = _db.CreateTransaction();
                _ = t.StreamAddAsync(_stream, [new NameValueEntry(JobField, e[JobField]), new NameValueEntry(AttemptsField, 0)]);
                _ = t.StreamDeleteAsync(_dead, [e.Id]);
                await t.ExecuteAsync().ConfigureAwait(false);
                moved++;
            }
        }
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync().ConfigureAwait(false);

    /// <summary>Whether the entry is still pending to this consumer (not claimed by another after a stall).</summary>
    private async Task<bool> OwnsAsync(RedisValue id)
    {
        var pending = await _db.StreamPendingMessagesAsync(_stream, Group, 1, RedisValue.Null, id, id).ConfigureAwait(false);
        return pending.Length == 1 && pending[0].ConsumerName == _consumer;
    }

    private sealed class Delivery(RedisStreamQueue q, RedisValue id, RedisValue body, int attempt) : IJobDelivery
    {
        public ReadOnlyMemory<byte> Body { get; } = (byte[]?)body ?? [];

        public int Attempt { get; } = attempt;

        public Task CompleteAsync(CancellationToken cancellationToken = default) => Settle(t => _ = t.StringIncrementAsync(q._completed));

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => Settle(t =>
        {
            _ = t.StreamAddAsync(q._stream, [new NameValueEntry(JobField, Body), new NameValueEntry(AttemptsField, Attempt), new NameValueEntry("error", error)]);
            _ = t.StringIncrementAsync(q._failed);
        });

        public Task DeadLetterAsync(string error, CancellationToken cancellationToken = default) => Settle(t =>
        {
            _ = t.StreamAddAsync(q._dead, [new NameValueEntry(JobField, Body), new NameValueEntry(AttemptsField, Attempt), new NameValueEntry("error", error),
                new NameValueEntry("at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture))]);
            _ = t.StringIncrementAsync(q._failed);
        });

        public Task ReturnAsync(CancellationToken cancellationToken = default) =>
            Settle(t => _ = t.StreamAddAsync(q._stream, [new NameValueEntry(JobField, Body), new NameValueEntry(AttemptsField, Attempt - 1)]));

        public async Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default)
        {
            // Refreshed only while the entry is still pending to this consumer, checked and claimed in one script:
            // after a stall past the visibility timeout another worker may have claimed it, and a bare XCLAIM would
            // take it back from that worker.
            var result = await q._db.ScriptEvaluateAsync(KeepAliveScript, [q._stream], [Group, id, q._consumer]).ConfigureAwait(false);
            return (long)result == 1;
        }

        private async Task Settle(Action<ITransaction> also)
        {
            if (!await q.OwnsAsync(id).ConfigureAwait(false))
            {
                // Claimed by another worker after a stall: that worker settles it.
                return;
            }
            var t = q._db.CreateTransaction();
            also(t);
            _ = t.StreamAcknowledgeAsync(q._stream, Group, id);
            _ = t.StreamDeleteAsync(q._stream, [id]);
            await t.ExecuteAsync().ConfigureAwait(false);
        }
    }
}
