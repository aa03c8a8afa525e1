using System.Globalization;
using System.Text;
using Amazon;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Histoscale.Workers.Brokers;

/// <summary>
/// Jobs on Amazon SQS (<c>sqs://REGION/QUEUE</c> or the queue's https URL). A received message is invisible for the
/// visibility timeout; a live worker extends it (ChangeMessageVisibility), a dead worker's message becomes visible
/// again and SQS counts the receive (ApproximateReceiveCount = the attempt). A retried or returned message is made
/// visible at once (visibility 0), which SQS counts as a receive too: as on Azure, a job returned by a stopping
/// worker uses up an attempt. Dead letters are our own queue, QUEUE-dead, where the worker sends the body with the
/// last error and the attempts as message attributes (a redrive policy moves messages without saying why; one may
/// still be set as a safety net, with maxReceiveCount above --max-attempts). Status: ApproximateNumberOfMessages
/// (+ Delayed) is pending, ApproximateNumberOfMessagesNotVisible is running; completed and failed are not counted.
/// Bodies are sent as text when they are valid UTF-8 of the characters SQS accepts, else as base64 with the
/// attribute <c>histoscale-encoding=base64</c>.
/// </summary>
internal sealed class SqsQueue : IJobQueue
{
    private const string EncodingAttribute = "histoscale-encoding";
    private const string ErrorAttribute = "histoscale-error";
    private const string AttemptsAttribute = "histoscale-attempts";
    private const int MaxErrorChars = 4000;

    private readonly AmazonSQSClient _client;
    private readonly string _queueUrl;
    private readonly string _deadUrl;
    private readonly int _visibilitySeconds;

    private SqsQueue(AmazonSQSClient client, string queueUrl, string deadUrl, string name, int visibilitySeconds)
    {
        _client = client;
        _queueUrl = queueUrl;
        _deadUrl = deadUrl;
        Name = name;
        _visibilitySeconds = visibilitySeconds;
    }

    public string Name { get; }

    /// <summary>Region and queue name of <c>sqs://REGION/QUEUE</c> or <c>https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE</c>.</summary>
    internal static (string Region, string Queue, string? QueueUrl) Parts(Uri uri)
    {
        if (uri.Query.Length > 0)
        {
            throw new QueueConfigException($"queue URL '{uri}': sqs:// takes no parameters");
        }
        string region, queue;
        string? queueUrl = null;
        if (uri.Scheme == "sqs")
        {
            region = uri.Host;
            queue = uri.AbsolutePath.Trim('/');
        }
        else
        {
            // https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE (the URL the console and CreateQueue give).
            var host = uri.Host.Split('.');
            var path = uri.AbsolutePath.Trim('/').Split('/');
            if (host.Length < 4 || host[0] != "sqs" || !uri.Host.Contains(".amazonaws.com", StringComparison.Ordinal) || path.Length != 2)
            {
                throw new QueueConfigException($"queue URL '{uri}': not an SQS queue URL (expected https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE or sqs://REGION/QUEUE)");
            }
            region = host[1];
            queue = path[1];
            queueUrl = uri.GetLeftPart(UriPartial.Path);
        }
        if (region.Length == 0 || !region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            throw new QueueConfigException($"queue URL '{uri}': '{region}' is not an AWS region (sqs://REGION/QUEUE, e.g. sqs://eu-west-1/histoscale-jobs)");
        }
        if (queue.EndsWith(".fifo", StringComparison.Ordinal))
        {
            throw new QueueConfigException($"queue URL '{uri}': FIFO queues are not supported (use a standard queue; outputs are idempotent, so at-least-once delivery is enough)");
        }
        if (queue.Length is < 1 or > 75 || !queue.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new QueueConfigException($"queue URL '{uri}': '{queue}' is not an SQS queue name for sqs://REGION/QUEUE (1-75 letters, digits, hyphens and underscores; '-dead' is appended for dead letters)");
        }
        return (region, queue, queueUrl);
    }

    public static async Task<SqsQueue> ConnectAsync(Uri uri, string name, QueueOptions options, CancellationToken cancellationToken)
    {
        var (region, queue, queueUrl) = Parts(uri);
        AmazonSQSConfig Config(int? maxErrorRetry)
        {
            var config = new AmazonSQSConfig();
            if (maxErrorRetry is { } retries)
            {
                config.MaxErrorRetry = retries;
            }
            if (options.SqsServiceUrl is { Length: > 0 } endpoint)
            {
                config.ServiceURL = endpoint;
                config.AuthenticationRegion = region;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            }
            return config;
        }
        string deadUrl;
        // Resolving the queues: no SDK retries, the caller's Polly pipeline retries connecting.
        using (var connecting = new AmazonSQSClient(Config(0)))
        {
            queueUrl ??= await UrlOf(connecting, queue, cancellationToken).ConfigureAwait(false);
            deadUrl = await UrlOf(connecting, queue + "-dead", cancellationToken).ConfigureAwait(false);
        }
        // Working (receive, delete, change visibility, send): the SDK's default retries ride out a throttle or blip.
        var visibility = (int)Math.Clamp(Math.Ceiling(options.VisibilityTimeout.TotalSeconds), 1, 43_200);
        return new SqsQueue(new AmazonSQSClient(Config(null)), queueUrl, deadUrl, name, visibility);
    }

    /// <summary>The queue's URL; the queue is created (standard, default attributes) when it does not exist.</summary>
    private static async Task<string> UrlOf(AmazonSQSClient client, string queue, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = queue }, cancellationToken).ConfigureAwait(false)).QueueUrl;
        }
        catch (QueueDoesNotExistException)
        {
            return (await client.CreateQueueAsync(new CreateQueueRequest { QueueName = queue }, cancellationToken).ConfigureAwait(false)).QueueUrl;
        }
    }

    /// <summary>The SDK retries of the client that does the work after connecting.</summary>
    internal int MaxErrorRetry => _client.Config.MaxErrorRetry;

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        SendAsync(_queueUrl, message, null, cancellationToken);

    public async Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
    {
        var message = (await ReceiveAsync(_queueUrl, 1, _visibilitySeconds, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        return message is null ? null : new Delivery(this, message);
    }

    public async Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var names = new List<string> { "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed" };
        var queue = await _client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = _queueUrl, AttributeNames = names }, cancellationToken).ConfigureAwait(false);
        var dead = await _client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = _deadUrl, AttributeNames = names }, cancellationToken).ConfigureAwait(false);
        return new QueueStatus(
            Count(queue, "ApproximateNumberOfMessages") + Count(queue, "ApproximateNumberOfMessagesDelayed"),
            Count(queue, "ApproximateNumberOfMessagesNotVisible"),
            null,
            null,
            Count(dead, "ApproximateNumberOfMessages") + Count(dead, "ApproximateNumberOfMessagesNotVisible") + Count(dead, "ApproximateNumberOfMessagesDelayed"));
    }

    public async Task<int> RetryDeadAsync(CancellationToken cancellationToken = default)
    {
        var moved = 0;
        while (true)
        {
            var batch = await ReceiveAsync(_deadUrl, 10, 60, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return moved;
            }
            foreach (var m in batch)
            {
                await SendAsync(_queueUrl, BodyOf(m), null, cancellationToken).ConfigureAwait(false);
                await _client.DeleteMessageAsync(new DeleteMessageRequest { QueueUrl = _deadUrl, ReceiptHandle = m.ReceiptHandle }, cancellationToken).ConfigureAwait(false);
                moved++;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<IReadOnlyList<Message>> ReceiveAsync(string url, int max, int visibilitySeconds, CancellationToken cancellationToken)
    {
        var response = await _client.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            MaxNumberOfMessages = max,
            VisibilityTimeout = visibilitySeconds,
            // One second of long polling: short polling samples a subset of SQS's servers and can answer "none"
            // while messages wait; a long poll asks them all.
            WaitTimeSeconds = 1,
            MessageSystemAttributeNames = ["ApproximateReceiveCount"],
            MessageAttributeNames = ["All"],
        }, cancellationToken).ConfigureAwait(false);
        return response.Messages ?? [];
    }

    private Task SendAsync(string url, ReadOnlyMemory<byte> body, Dictionary<string, MessageAttributeValue>? attributes, CancellationToken cancellationToken)
    {
        attributes ??= [];
        string text;
        if (AsSqsText(body.Span) is { } plain)
        {
            text = plain;
        }
        else
        {
            text = Convert.ToBase64String(body.Span);
            attributes[EncodingAttribute] = new MessageAttributeValue { DataType = "String", StringValue = "base64" };
        }
        return _client.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = text, MessageAttributes = attributes.Count == 0 ? null : attributes }, cancellationToken);
    }

    /// <summary>The body as text when it is valid UTF-8 made of the characters SQS accepts (XML's), else null.</summary>
    internal static string? AsSqsText(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return null; // SQS refuses an empty body
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (!(c is '\t' or '\n' or '\r' or (>= ' ' and <= '\uD7FF') or (>= '\uE000' and <= '\uFFFD')))
            {
                return null;
            }
        }
        return text;
    }

    private static byte[] BodyOf(Message m) =>
        m.MessageAttributes is { } a && a.TryGetValue(EncodingAttribute, out var enc) && enc.StringValue == "base64"
            ? Convert.FromBase64String(m.Body)
            : Encoding.UTF8.GetBytes(m.Body);

    private static long Count(GetQueueAttributesResponse response, string attribute) =>
        response.Attributes is { } a && a.TryGetValue(attribute, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private sealed class Delivery(SqsQueue q, Message message) : IJobDelivery
    {
        public ReadOnlyMemory<byte> Body { get; } = BodyOf(message);

        public int Attempt { get; } = message.Attributes is { } a && a.TryGetValue("ApproximateReceiveCount", out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 1;

        public Task CompleteAsync(CancellationToken cancellationToken = default) =>
            q._client.DeleteMessageAsync(new DeleteMessageRequest { QueueUrl = q._queueUrl, ReceiptHandle = message.ReceiptHandle }, cancellationToken);

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => SetVisibility(0, cancellationToken);

        public async Task DeadLetterAsync(string error, CancellationToken cancellationToken = default)
        {
            var attributes = new Dictionary<string, MessageAttributeValue>
            {
                [ErrorAttribute] = new() { DataType = "String", StringValue = error.Length <= MaxErrorChars ? (error.Length == 0 ? "(no message)" : error) : error[..MaxErrorChars] },
                [AttemptsAttribute] = new() { DataType = "Number", StringValue = Attempt.ToString(CultureInfo.InvariantCulture) },
            };
            await q.SendAsync(q._deadUrl, Body, attributes, cancellationToken).ConfigureAwait(false);
            await CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task ReturnAsync(CancellationToken cancellationToken = default) => SetVisibility(0, cancellationToken);

        public async Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                await SetVisibility(q._visibilitySeconds, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is MessageNotInflightException or ReceiptHandleIsInvalidException)
            {
                // Received again by another worker (our receipt handle is stale) or settled: no longer ours.
                return false;
            }
        }

        private Task SetVisibility(int seconds, CancellationToken cancellationToken) =>
            q._client.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest { QueueUrl = q._queueUrl, ReceiptHandle = message.ReceiptHandle, VisibilityTimeout = seconds }, cancellationToken);
    }
}
