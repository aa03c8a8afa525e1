using Polly;
using Polly.Retry;

namespace Histoscale.Workers.Brokers;

/// <summary>Opens a queue from its URL: <c>redis://HOST[:PORT][/DB][?queue=NAME]</c> (Redis Streams, the default
/// port 6379), <c>amqp://USER:PASS@HOST[:PORT]/[VHOST][?queue=NAME]</c> (RabbitMQ) or <c>azqueue://ACCOUNT/QUEUE</c>
/// (Azure Queue Storage), <c>sqs://REGION/QUEUE</c> or <c>https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE</c> (Amazon
/// SQS), <c>gcppubsub://PROJECT/SUBSCRIPTION[?topic=TOPIC]</c> (Google Cloud Pub/Sub); the default queue name is <see cref="DefaultQueueName"/>.</summary>
public static class JobQueues
{
    /// <summary>Queue (stream) name when the URL names none.</summary>
    public const string DefaultQueueName = "histoscale-jobs";

    /// <summary>The URL schemes understood.</summary>
    public static IReadOnlyList<string> Schemes { get; } = ["redis", "amqp", "amqps", "azqueue", "sqs", "gcppubsub"];

    /// <summary>Checks a URL without connecting; throws <see cref="QueueConfigException"/> naming what is wrong.</summary>
    public static Uri Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !url.Contains("://", StringComparison.Ordinal))
        {
            throw new QueueConfigException($"queue URL '{url}' is not a URL (expected redis://HOST:PORT or amqp://USER:PASS@HOST/VHOST)");
        }
        var sqsHttps = uri.Scheme == "https" && uri.Host.StartsWith("sqs.", StringComparison.Ordinal);
        if (!Schemes.Contains(uri.Scheme) && !sqsHttps)
        {
            throw new QueueConfigException($"queue URL '{Redact(uri)}': unknown scheme '{uri.Scheme}' (supported: {string.Join(", ", Schemes.Select(s => s + "://"))})");
        }
        if (uri.Scheme == "azqueue")
        {
            _ = AzureQueue.QueueName(uri);
        }
        else if (uri.Scheme == "gcppubsub")
        {
            _ = PubSubQueue.Parts(uri);
        }
        else if (uri.Scheme == "sqs" || sqsHttps)
        {
            _ = SqsQueue.Parts(uri);
        }
        else
        {
            _ = QueueName(uri);
        }
        return uri;
    }

    /// <summary>Connects (with retries and backoff) and declares what the queue needs.</summary>
    /// <exception cref="QueueConfigException">A bad URL, or the broker unreachable after <see cref="QueueOptions.ConnectAttempts"/> attempts.</exception>
    public static async Task<IJobQueue> OpenAsync(string url, QueueOptions options, CancellationToken cancellationToken = default)
    {
        var uri = Parse(url);
        var name = uri.Scheme is "redis" or "amqp" or "amqps" ? QueueName(uri) : DefaultQueueName;
        var consumer = options.ConsumerName ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        var attempts = Math.Max(1, options.ConnectAttempts);
        var pipeline = attempts == 1 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = attempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            Delay = options.ConnectRetryDelay,
            UseJitter = true,
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException and not QueueConfigException),
        }).Build();
        try
        {
            return uri.Scheme switch
            {
                "redis" => await pipeline.ExecuteAsync(async ct => (IJobQueue)await RedisStreamQueue.ConnectAsync(uri, Redact(uri), name, consumer, options, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
                "sqs" or "https" => await pipeline.ExecuteAsync(async ct => (IJobQueue)await SqsQueue.ConnectAsync(uri, Redact(uri), options, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
                "gcppubsub" => await pipeline.ExecuteAsync(async ct => (IJobQueue)await PubSubQueue.ConnectAsync(uri, Redact(uri), options, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
                "azqueue" => await pipeline.ExecuteAsync(async ct => (IJobQueue)await AzureQueue.ConnectAsync(uri, Redact(uri), options, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
                _ => await pipeline.ExecuteAsync(async ct => (IJobQueue)await RabbitMqQueue.ConnectAsync(uri, Redact(uri), name, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not QueueConfigException)
        {
            throw new QueueConfigException($"queue {Redact(uri)}: broker unreachable after {attempts} attempt{(attempts == 1 ? "" : "s")} ({FirstLine(ex.Message)})", ex);
        }
    }

    internal static string QueueName(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv[0] != "queue")
            {
                throw new QueueConfigException($"queue URL '{Redact(uri)}': unknown parameter '{kv[0]}' (only queue=NAME)");
            }
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            if (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw new QueueConfigException($"queue URL '{Redact(uri)}': queue name '{value}' must be non-empty without spaces");
            }
            return value;
        }
        return DefaultQueueName;
    }

    /// <summary>The URL without its password.</summary>
    internal static string Redact(Uri uri) =>
        uri.UserInfo.Length == 0 ? uri.ToString() : new UriBuilder(uri) { Password = uri.UserInfo.Contains(':', StringComparison.Ordinal) ? "***" : "" }.Uri.ToString();

    private static string FirstLine(string s) => s.ReplaceLineEndings("\n").Split('\n')[0].Trim();
}
