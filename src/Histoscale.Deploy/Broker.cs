namespace Histoscale.Deploy;

/// <summary>The job broker the workers read (issue 12's URL schemes) and what KEDA needs to watch its backlog.</summary>
internal sealed record Broker(string Kind, string Url, bool InCluster, string Host, string QueueName, string? Account)
{
    public static Broker Parse(string url, DeploySpec spec, string target)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new DeployConfigException($"deploy.yaml queue: '{url}' is not a URL (redis://, amqp://, sqs://, azqueue://, gcppubsub://)");
        }
        var path = uri.AbsolutePath.Trim('/');
        switch (uri.Scheme)
        {
            case "redis":
                return new Broker("redis", url, false, $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}", spec.QueueName, null);
            case "amqp":
            case "amqps":
                if (!string.IsNullOrEmpty(uri.UserInfo))
                {
                    throw new DeployConfigException("deploy.yaml queue: an amqp URL with credentials; give amqp://HOST/VHOST and put the full URL in the secret histoscale-broker (key url)");
                }
                return new Broker("amqp", url, false, uri.Host, spec.QueueName, null);
            case "sqs":
                if (path.Length == 0)
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' names no queue (sqs://REGION/QUEUE)");
                }
                return new Broker("sqs", url, false, uri.Host, path, null);
            case "https" when uri.Host.StartsWith("sqs.", StringComparison.Ordinal):
                return new Broker("sqs", url, false, uri.Host.Split('.')[1], path.Split('/')[^1], null);
            case "azqueue":
                if (path.Length == 0)
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' names no queue (azqueue://ACCOUNT/QUEUE)");
                }
                return new Broker("azqueue", url, false, uri.Host, path, uri.Host);
            case "gcppubsub":
                if (path.Length == 0)
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' names no subscription (gcppubsub://PROJECT/SUBSCRIPTION)");
                }
                return new Broker("gcppubsub", url, false, uri.Host, path, uri.Host);
            default:
                throw new DeployConfigException($"deploy.yaml queue: unknown scheme '{uri.Scheme}' for target {target} (redis, amqp, sqs, azqueue, gcppubsub)");
        }
    }

    /// <summary>The SQS queue URL KEDA and Application Auto Scaling name.</summary>
    public string SqsQueueUrl(DeploySpec spec) => Url.StartsWith("https://", StringComparison.Ordinal)
        ? Url
        : $"https://sqs.{Host}.amazonaws.com/{spec.Aws.AccountId}/{QueueName}";
}
