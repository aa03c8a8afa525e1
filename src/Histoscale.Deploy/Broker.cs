namespace Histoscale.Deploy;

/// <summary>The job broker the workers read (issue 12's URL schemes) and what KEDA needs to watch its backlog.</summary>
internal sealed record Broker(string Kind, string Url, bool InCluster, string Host, string QueueName, string? Account)
{
    /// <summary>The schemes the worker implements (Histoscale.Workers' JobQueues), for messages.</summary>
    public const string WorkerSchemes = "redis://, amqp://, amqps://, azqueue://, sqs://, gcppubsub://";

    public static Broker Parse(string url, DeploySpec spec, string target)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new DeployConfigException($"deploy.yaml queue: '{url}' is not a URL (the worker supports {WorkerSchemes})");
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
            case "azqueue":
                if (path.Length == 0)
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' names no queue (azqueue://ACCOUNT/QUEUE)");
                }
                return new Broker("azqueue", url, false, uri.Host, path, uri.Host);
            case "sqs":
                if (uri.Host.Length == 0 || path.Length == 0 || path.Contains('/', StringComparison.Ordinal))
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' is not sqs://REGION/QUEUE");
                }
                // KEDA's aws-sqs-queue scaler takes the queue's name where the URL (with the account) is not known.
                return new Broker("sqs", url, false, uri.Host, path, null);
            case "https" when uri.Host.StartsWith("sqs.", StringComparison.Ordinal):
                {
                    var host = uri.Host.Split('.');
                    var parts = path.Split('/');
                    if (host.Length < 4 || parts.Length != 2 || parts[1].Length == 0)
                    {
                        throw new DeployConfigException($"deploy.yaml queue: '{url}' is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)");
                    }
                    return new Broker("sqs", url, false, host[1], parts[1], parts[0]);
                }
            case "gcppubsub":
                if (uri.Host.Length == 0 || path.Length == 0 || path.Contains('/', StringComparison.Ordinal))
                {
                    throw new DeployConfigException($"deploy.yaml queue: '{url}' is not gcppubsub://PROJECT/SUBSCRIPTION[?topic=TOPIC]");
                }
                return new Broker("gcppubsub", url, false, uri.Host, path, null);
            default:
                throw new DeployConfigException($"deploy.yaml queue: unknown scheme '{uri.Scheme}' for target {target} (the worker supports {WorkerSchemes})");
        }
    }
}
