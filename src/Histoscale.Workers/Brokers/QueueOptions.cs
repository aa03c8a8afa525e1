namespace Histoscale.Workers.Brokers;

/// <summary>How a queue is reached and how its deliveries behave.</summary>
public sealed record QueueOptions
{
    /// <summary>Connection attempts before the broker is reported unreachable (exponential backoff between them).</summary>
    public int ConnectAttempts { get; init; } = 5;

    /// <summary>Wait before the second connection attempt; doubled for each further one.</summary>
    public TimeSpan ConnectRetryDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// Redis, Azure, SQS: how long a taken message may go without a keep-alive before another worker claims it (its
    /// worker is taken for dead). RabbitMQ redelivers when the dead worker's connection drops and ignores this.
    /// </summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// azqueue://: a storage connection string (Azurite, or account keys); null = https://ACCOUNT.queue.core.windows.net
    /// with the default Azure credential chain. The host maps AZURE_STORAGE_CONNECTION_STRING to it.
    /// </summary>
    public string? AzureConnectionString { get; init; }

    /// <summary>
    /// sqs://: an endpoint to use instead of AWS's (an emulator, a VPC endpoint); null = the region's SQS endpoint.
    /// Credentials come from the AWS SDK's default chain. The host maps AWS_ENDPOINT_URL_SQS (or AWS_ENDPOINT_URL) to it.
    /// </summary>
    public string? SqsServiceUrl { get; init; }

    /// <summary>
    /// gcppubsub://: a Pub/Sub emulator's HOST:PORT (plain http, no credentials; also serves the Cloud Monitoring
    /// query that status makes); null = Google's endpoints with the application default credentials. The host maps
    /// PUBSUB_EMULATOR_HOST to it.
    /// </summary>
    public string? PubSubEmulatorHost { get; init; }

    /// <summary>Name of this consumer (Redis consumer-group member); default: host name and process id.</summary>
    public string? ConsumerName { get; init; }

    /// <summary>
    /// Receives warnings about the broker's setup found when connecting (e.g. a Pub/Sub subscription without a
    /// dead-letter policy, on which crash redeliveries are not counted); null = not reported.
    /// </summary>
    public Action<string>? Warning { get; init; }
}

/// <summary>A queue URL that cannot be used: unknown scheme, a bad part, or a broker unreachable after the retries.</summary>
public sealed class QueueConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QueueConfigException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public QueueConfigException(string message, Exception inner) : base(message, inner)
    {
    }
}
