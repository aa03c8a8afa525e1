using System.Text.Json;
using Azure.Identity;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Histoscale.Workers.Brokers;

/// <summary>
/// Jobs on Azure Queue Storage (<c>azqueue://ACCOUNT/QUEUE</c>; Azurite's queue emulator in the tests). A received
/// message is invisible for the visibility timeout; a live worker extends it (UpdateMessage), a dead worker's
/// message becomes visible again and the service counts the delivery (DequeueCount = the attempt). A retried or
/// returned message is made visible at once, which the service counts as a delivery too: on this broker a job
/// returned by a stopping worker uses up an attempt. Dead letters go to QUEUE-dead as
/// <c>{"error","attempts","job"}</c> (job = the original body, base64). The service counts all messages, visible
/// or not, so pending includes running and running is null; completed and failed are not counted.
/// </summary>
internal sealed class AzureQueue : IJobQueue
{
    private readonly QueueClient _queue;
    private readonly QueueClient _dead;
    private readonly TimeSpan _visibility;

    private AzureQueue(QueueClient queue, QueueClient dead, string name, TimeSpan visibility)
    {
        _queue = queue;
        _dead = dead;
        Name = name;
        _visibility = visibility;
    }

    public string Name { get; }

    internal static string QueueName(Uri uri)
    {
        var name = uri.AbsolutePath.Trim('/');
        if (name.Length is < 3 or > 58 || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') || name.StartsWith('-') || name.EndsWith('-') || name.Contains("--", StringComparison.Ordinal))
        {
            throw new QueueConfigException($"queue URL '{uri}': '{name}' is not an Azure queue name for azqueue://ACCOUNT/QUEUE (3-58 lowercase letters, digits and single hyphens; '-dead' is appended for dead letters)");
        }
        if (uri.Query.Length > 0)
        {
            throw new QueueConfigException($"queue URL '{uri}': azqueue:// takes no parameters");
        }
        return name;
    }

    public static async Task<AzureQueue> ConnectAsync(Uri uri, string name, QueueOptions options, CancellationToken cancellationToken)
    {
        var queueName = QueueName(uri);
        var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        clientOptions.Retry.MaxRetries = 0; // the caller's Polly pipeline retries connecting
        QueueClient Client(string q) => options.AzureConnectionString is { } cs
            ? new QueueClient(cs, q, clientOptions)
            : new QueueClient(new Uri($"https://{uri.Host}.queue.core.windows.net/{q}"), new DefaultAzureCredential(), clientOptions);
        var queue = Client(queueName);
        var dead = Client(queueName + "-dead");
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await dead.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new AzureQueue(queue, dead, name, options.VisibilityTimeout);
    }

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        _queue.SendMessageAsync(new BinaryData(message), cancellationToken: cancellationToken);

    public async Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
    {
        var message = (await _queue.ReceiveMessageAsync(_visibility, cancellationToken).ConfigureAwait(false)).Value;
        return message is null ? null : new Delivery(this, message);
    }

    public async Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var queue = await _queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        var dead = await _dead.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        return new QueueStatus(queue.Value.ApproximateMessagesCount, null, null, null, dead.Value.ApproximateMessagesCount);
    }

    public async Task<int> RetryDeadAsync(CancellationToken cancellationToken = default)
    {
        var moved = 0;
        while (true)
        {
            var batch = (await _dead.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false)).Value;
            if (batch.Length == 0)
            {
                return moved;
            }
            foreach (var m in batch)
            {
                var letter = JsonSerializer.Deserialize<DeadLetter>(m.Body.ToMemory().Span, DeadLetterJson);
                await _queue.SendMessageAsync(new BinaryData(letter?.Job ?? m.Body.ToArray()), cancellationToken: cancellationToken).ConfigureAwait(false);
                await _dead.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken).ConfigureAwait(false);
                moved++;
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static readonly JsonSerializerOptions DeadLetterJson = new(JsonSerializerDefaults.Web);

    private sealed record DeadLetter(string Error, long Attempts, byte[] Job);

    private sealed class Delivery(AzureQueue q, QueueMessage message) : IJobDelivery
    {
        private readonly Lock _gate = new();
        private string _popReceipt = message.PopReceipt;

        public ReadOnlyMemory<byte> Body { get; } = message.Body.ToArray();

        public int Attempt { get; } = (int)message.DequeueCount;

        private string PopReceipt
        {
            get
            {
                lock (_gate)
                {
                    return _popReceipt;
                }
            }
            set
            {
                lock (_gate)
                {
                    _popReceipt = value;
                }
            }
        }

        public Task CompleteAsync(CancellationToken cancellationToken = default) =>
            q._queue.DeleteMessageAsync(message.MessageId, PopReceipt, cancellationToken);

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => MakeVisible(cancellationToken);

        public async Task DeadLetterAsync(string error, CancellationToken cancellationToken = default)
        {
            var letter = JsonSerializer.SerializeToUtf8Bytes(new DeadLetter(error, Attempt, Body.ToArray()), DeadLetterJson);
            await q._dead.SendMessageAsync(new BinaryData(letter), cancellationToken: cancellationToken).ConfigureAwait(false);
            await q._queue.DeleteMessageAsync(message.MessageId, PopReceipt, cancellationToken).ConfigureAwait(false);
        }

        public Task ReturnAsync(CancellationToken cancellationToken = default) => MakeVisible(cancellationToken);

        public async Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                var receipt = await q._queue.UpdateMessageAsync(message.MessageId, PopReceipt, visibilityTimeout: q._visibility, cancellationToken: cancellationToken).ConfigureAwait(false);
                PopReceipt = receipt.Value.PopReceipt;
                return true;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404 || ex.ErrorCode == "PopReceiptMismatch")
            {
                // Received again by another worker (a new pop receipt) or settled by it: no longer ours.
                return false;
            }
        }

        private async Task MakeVisible(CancellationToken cancellationToken)
        {
            var receipt = await q._queue.UpdateMessageAsync(message.MessageId, PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
            PopReceipt = receipt.Value.PopReceipt;
        }
    }
}
