using Histoscale.Costing.Simulation;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Histoscale.Deploy;

/// <summary>
/// deploy.yaml: the one description every target is rendered from. Every field has a default, so an empty file
/// (or none) renders a complete deployment whose placeholders (account ids, client ids) docs/deploy.md says to set.
/// </summary>
internal sealed class DeploySpec
{
    public string Name { get; set; } = "histoscale";
    public string Namespace { get; set; } = "histoscale";
    /// <summary>The CPU image (linux/amd64 + linux/arm64), built from deploy/docker/Dockerfile.</summary>
    public string Image { get; set; } = "ghcr.io/histoscale/histoscale:latest";
    /// <summary>The GPU image (linux/amd64, CUDA), built from deploy/docker/Dockerfile.gpu.</summary>
    public string GpuImage { get; set; } = "ghcr.io/histoscale/histoscale:latest-gpu";
    /// <summary>Triton-layout model repository inside the container (baked into the image or mounted).</summary>
    public string ModelRepository { get; set; } = "/models";
    /// <summary>Broker URL (issue 12's schemes); empty: in-cluster Redis on k8s, SQS on ECS, Azure Queue on Container Apps.</summary>
    public string Queue { get; set; } = "";
    /// <summary>Redis stream / RabbitMQ queue name (the URL names the queue for SQS, Azure Queue and Pub/Sub).</summary>
    public string QueueName { get; set; } = "histoscale-jobs";
    /// <summary>Redis Streams consumer group the workers read with.</summary>
    public string ConsumerGroup { get; set; } = "histoscale-workers";
    /// <summary>Where results go (s3://, az://, gs://); empty: a bucket/container named after <see cref="Name"/> on the cloud.</summary>
    public string Output { get; set; } = "";
    /// <summary>The archive's slide collection (s3://, az://, gs:// prefix or a path); empty: the cloud's default bucket.</summary>
    public string Slides { get; set; } = "";
    /// <summary>The Prometheus KEDA queries (k8s): the server address.</summary>
    public string PrometheusUrl { get; set; } = "http://prometheus-operated.monitoring.svc:9090";
    public Ports Ports { get; set; } = new();
    public ServerSpec Server { get; set; } = new();
    public WorkerSpec Workers { get; set; } = new();
    public ArchiveSpec Archive { get; set; } = new();
    public ScalingSpec Scaling { get; set; } = new();
    public AwsSpec Aws { get; set; } = new();
    public AzureSpec Azure { get; set; } = new();
    public GcpSpec Gcp { get; set; } = new();

    public static DeploySpec Parse(string? yaml, string source)
    {
        if (string.IsNullOrWhiteSpace(yaml))
        {
            return new DeploySpec();
        }
        var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
        try
        {
            return deserializer.Deserialize<DeploySpec?>(yaml) ?? new DeploySpec();
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException?.Message ?? ex.Message;
            throw new DeployConfigException($"{source}: line {ex.Start.Line}: {inner}", ex);
        }
    }
}

internal sealed class Ports
{
    /// <summary><c>serve --http-port</c> (KServe REST, health, archive API).</summary>
    public int Http { get; set; } = 8000;
    /// <summary><c>serve --grpc-port</c>.</summary>
    public int Grpc { get; set; } = 8001;
    /// <summary><c>serve --metrics-port</c> (/metrics).</summary>
    public int Metrics { get; set; } = 8002;
    /// <summary><c>worker --metrics-port</c>.</summary>
    public int WorkerMetrics { get; set; } = 9100;
}

internal sealed class ServerSpec
{
    public double Cpu { get; set; } = 4;
    public double MemoryGiB { get; set; } = 8;
    public int MinReplicas { get; set; } = 1;
    public int MaxReplicas { get; set; } = 10;
    /// <summary>Scale out when the average queue time per request over the last minute exceeds this.</summary>
    public double QueueTimeThresholdMs { get; set; } = 100;
    public int ExitTimeoutSeconds { get; set; } = 30;
}

internal sealed class WorkerSpec
{
    public double Cpu { get; set; } = 2;
    public double MemoryGiB { get; set; } = 4;
    public int MinReplicas { get; set; }
    public int MaxReplicas { get; set; } = 50;
    /// <summary><c>deployment</c> (long-running workers behind a ScaledObject) or <c>job</c> (a KEDA ScaledJob / Container Apps Job).</summary>
    public string Mode { get; set; } = "deployment";
    public int SlidesInFlight { get; set; } = 1;
    /// <summary><c>worker --grace</c>: seconds a stopping worker finishes its slide in; the pod's grace period adds 30.</summary>
    public int GraceSeconds { get; set; } = 300;
    /// <summary>Job mode: <c>worker --idle-exit</c> seconds.</summary>
    public int IdleExitSeconds { get; set; } = 60;
}

internal sealed class ArchiveSpec
{
    public bool Enabled { get; set; } = true;
    public double Cpu { get; set; } = 1;
    public double MemoryGiB { get; set; } = 2;
    /// <summary><c>sqlite</c> (a volume, one replica) or <c>postgres</c> (connection string from a secret).</summary>
    public string Database { get; set; } = "sqlite";
    public int Replicas { get; set; } = 1;
    public string VolumeSize { get; set; } = "10Gi";
}

internal sealed class ScalingSpec
{
    private static readonly ScalerSettings Defaults = new();
    public double PollingIntervalSeconds { get; set; } = Defaults.PollingIntervalSeconds;
    public double CooldownSeconds { get; set; } = Defaults.CooldownSeconds;
    public double QueueTarget { get; set; } = Defaults.QueueTarget;
    public double ActivationQueue { get; set; } = Defaults.ActivationQueue;
    public double ScaleDownStabilizationSeconds { get; set; } = Defaults.ScaleDownStabilizationSeconds;
    public double ScaleUpStabilizationSeconds { get; set; } = Defaults.ScaleUpStabilizationSeconds;
    public int ScaleUpPods { get; set; } = Defaults.ScaleUpPods;
    public double ScaleUpPercent { get; set; } = Defaults.ScaleUpPercent;

    public ScalerSettings ToSettings() => new()
    {
        PollingIntervalSeconds = PollingIntervalSeconds,
        CooldownSeconds = CooldownSeconds,
        QueueTarget = QueueTarget,
        ActivationQueue = ActivationQueue,
        ScaleDownStabilizationSeconds = ScaleDownStabilizationSeconds,
        ScaleUpStabilizationSeconds = ScaleUpStabilizationSeconds,
        ScaleUpPods = ScaleUpPods,
        ScaleUpPercent = ScaleUpPercent,
    };
}

internal sealed class AwsSpec
{
    public string Region { get; set; } = "eu-west-1";
    public string AccountId { get; set; } = "000000000000";
    /// <summary>IAM role the pods (IRSA) or tasks (task role) assume for S3/SQS.</summary>
    public string RoleName { get; set; } = "histoscale";
    public string ExecutionRoleName { get; set; } = "ecsTaskExecutionRole";
    public string Cluster { get; set; } = "histoscale";
    public string GpuCapacityProvider { get; set; } = "histoscale-gpu";
    public List<string> Subnets { get; set; } = ["subnet-REPLACE"];
    public List<string> SecurityGroups { get; set; } = ["sg-REPLACE"];
    public string LogGroup { get; set; } = "/ecs/histoscale";
    /// <summary>Secrets Manager ARN of the archive's PostgreSQL connection string (archive.database: postgres).</summary>
    public string DatabaseSecretArn { get; set; } = "";
    /// <summary>Secrets Manager ARN of the full broker URL with its credentials (an amqps:// queue on Amazon MQ).</summary>
    public string BrokerSecretArn { get; set; } = "";
}

internal sealed class AzureSpec
{
    public string Location { get; set; } = "westeurope";
    public string SubscriptionId { get; set; } = "00000000-0000-0000-0000-000000000000";
    public string ResourceGroup { get; set; } = "histoscale";
    public string Environment { get; set; } = "histoscale-env";
    public string StorageAccount { get; set; } = "histoscale";
    /// <summary>User-assigned managed identity (Container Apps) / workload identity (AKS) for Blob and Queue access.</summary>
    public string IdentityName { get; set; } = "histoscale";
    public string IdentityClientId { get; set; } = "00000000-0000-0000-0000-000000000000";
}

internal sealed class GcpSpec
{
    public string Project { get; set; } = "histoscale-project";
    /// <summary>Google service account bound to the Kubernetes one (GKE Workload Identity) for GCS and Pub/Sub.</summary>
    public string ServiceAccount { get; set; } = "";
}
