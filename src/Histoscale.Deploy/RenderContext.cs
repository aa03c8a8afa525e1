using Histoscale.Costing;
using Histoscale.Costing.Simulation;

namespace Histoscale.Deploy;

/// <summary>The validated request and description, with what every renderer derives from them.</summary>
internal sealed class RenderContext
{
    private RenderContext(RenderRequest request, DeploySpec spec, Broker broker, ScalerSettings scaler)
    {
        Request = request;
        Spec = spec;
        Broker = broker;
        Scaler = scaler;
    }

    public RenderRequest Request { get; }
    public DeploySpec Spec { get; }
    public Broker Broker { get; }
    public ScalerSettings Scaler { get; }
    public string Cloud => Request.Cloud;
    public bool Gpu => Request.Gpu != "none";
    public bool Arm64 => Request.Arch == "arm64";
    public string ServerName => $"{Spec.Name}-server";
    public string WorkerName => $"{Spec.Name}-worker";
    public string ArchiveName => $"{Spec.Name}-archive";
    public string RedisName => $"{Spec.Name}-redis";
    public string ServerImage => Gpu ? Spec.GpuImage : Spec.Image;

    /// <summary>Where results go: deploy.yaml's output or the cloud's bucket/container named after the deployment.</summary>
    public string Output => Spec.Output.Length > 0 ? Spec.Output : Cloud switch
    {
        "aws" => $"s3://{Spec.Name}-results/",
        "azure" => $"az://{Spec.Azure.StorageAccount}/results/",
        _ => $"gs://{Spec.Name}-results/",
    };

    public string Slides => Spec.Slides.Length > 0 ? Spec.Slides : Cloud switch
    {
        "aws" => $"s3://{Spec.Name}-slides/",
        "azure" => $"az://{Spec.Azure.StorageAccount}/slides/",
        _ => $"gs://{Spec.Name}-slides/",
    };

    /// <summary>The server's gRPC endpoint as workers reach it.</summary>
    public string ServerGrpcUrl(string host) => $"grpc://{host}:{Spec.Ports.Grpc}";

    public static RenderContext Create(RenderRequest r, DeploySpec spec)
    {
        One("--target", r.Target, Catalog.Targets);
        One("--cloud", r.Cloud, Catalog.Clouds);
        One("--gpu", r.Gpu, Catalog.Gpus);
        One("--arch", r.Arch, Catalog.Archs);
        if (r.Target == "ecs" && r.Cloud != "aws")
        {
            throw new DeployConfigException($"--target ecs runs on aws only, not {r.Cloud} (use --target k8s or containerapps)");
        }
        if (r.Target == "containerapps" && r.Cloud != "azure")
        {
            throw new DeployConfigException($"--target containerapps runs on azure only, not {r.Cloud} (use --target k8s or ecs)");
        }
        if (r.Gpu != "none")
        {
            if (r.Target == "containerapps" && Catalog.ContainerAppsGpuProfile(r.Gpu) is null)
            {
                throw new DeployConfigException($"--gpu {r.Gpu}: Azure Container Apps has serverless GPUs t4 and a100 only");
            }
            if (Catalog.GpuNodeValue(r.Cloud, r.Gpu) is null)
            {
                var offered = Catalog.Gpus.Where(g => Catalog.GpuNodeValue(r.Cloud, g) is not null);
                throw new DeployConfigException($"--gpu {r.Gpu}: not offered on {r.Cloud} (choose {string.Join(", ", offered)} or none)");
            }
        }

        Positive("server.cpu", spec.Server.Cpu);
        Positive("server.memoryGiB", spec.Server.MemoryGiB);
        Positive("workers.cpu", spec.Workers.Cpu);
        Positive("workers.memoryGiB", spec.Workers.MemoryGiB);
        Positive("archive.cpu", spec.Archive.Cpu);
        Positive("archive.memoryGiB", spec.Archive.MemoryGiB);
        Positive("server.queueTimeThresholdMs", spec.Server.QueueTimeThresholdMs);
        Replicas("server", spec.Server.MinReplicas, spec.Server.MaxReplicas, 1);
        Replicas("workers", spec.Workers.MinReplicas, spec.Workers.MaxReplicas, 0);
        if (spec.Workers.SlidesInFlight < 1 || spec.Workers.GraceSeconds < 0 || spec.Workers.IdleExitSeconds < 1 || spec.Server.ExitTimeoutSeconds < 0)
        {
            throw new DeployConfigException("deploy.yaml workers.slidesInFlight and workers.idleExitSeconds must be ≥ 1, workers.graceSeconds and server.exitTimeoutSeconds ≥ 0");
        }
        One("deploy.yaml workers.mode", spec.Workers.Mode, ["deployment", "job"]);
        One("deploy.yaml archive.database", spec.Archive.Database, ["sqlite", "postgres"]);
        if (spec.Archive.Database == "sqlite" && spec.Archive.Replicas != 1)
        {
            throw new DeployConfigException("deploy.yaml archive.replicas: an SQLite archive runs one replica (use archive.database: postgres for more)");
        }
        var ports = new[] { spec.Ports.Http, spec.Ports.Grpc, spec.Ports.Metrics, spec.Ports.WorkerMetrics };
        if (ports.Any(p => p is < 1 or > 65535) || ports.Take(3).Distinct().Count() != 3)
        {
            throw new DeployConfigException("deploy.yaml ports: http, grpc and metrics must be distinct ports in 1..65535 (serve's --http-port, --grpc-port, --metrics-port)");
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(spec.Name, "^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
            || !System.Text.RegularExpressions.Regex.IsMatch(spec.Namespace, "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))
        {
            throw new DeployConfigException($"deploy.yaml name/namespace: '{spec.Name}'/'{spec.Namespace}' must be lower-case DNS labels (name at most 40 characters)");
        }

        ScalerSettings scaler;
        try
        {
            scaler = spec.Scaling.ToSettings();
            scaler.Validate();
        }
        catch (CostingConfigException ex)
        {
            throw new DeployConfigException($"deploy.yaml scaling: {ex.Message}", ex);
        }

        if (spec.Queue.Length == 0 && r.Target == "ecs")
        {
            throw new DeployConfigException($"deploy.yaml queue: ECS has no broker of its own that the worker supports; give sqs://REGION/QUEUE (Amazon SQS), redis://HOST:6379 (ElastiCache) or amqps://HOST/VHOST (Amazon MQ for RabbitMQ) (the worker supports {Broker.WorkerSchemes})");
        }
        if (r.Target == "k8s" && spec.Workers.Mode == "deployment" && scaler.ActivationQueue > 0)
        {
            // The ScaledObject counts queued + in-progress slides, as the cost simulator does: an activation threshold
            // would let KEDA scale to zero with slides still in progress.
            throw new DeployConfigException("deploy.yaml scaling.activationQueue: a worker Deployment scales on queued + in-progress slides with no activation threshold (one slide in progress keeps one worker); activationQueue applies to workers.mode: job");
        }
        var url = spec.Queue.Length > 0 ? spec.Queue : r.Target switch
        {
            "containerapps" => $"azqueue://{spec.Azure.StorageAccount}/{spec.QueueName}",
            _ => $"redis://{spec.Name}-redis:6379",
        };
        var broker = Broker.Parse(url, spec, r.Target);
        if (spec.Queue.Length == 0 && r.Target == "k8s")
        {
            broker = broker with { InCluster = true };
        }
        if (r.Target == "ecs" && broker.Kind is not ("redis" or "amqp" or "sqs"))
        {
            throw new DeployConfigException($"deploy.yaml queue: on ECS the workers take jobs from sqs://REGION/QUEUE (Amazon SQS), redis://HOST:6379 (ElastiCache) or amqps://HOST/VHOST (Amazon MQ for RabbitMQ); '{url}' is {broker.Kind}");
        }
        if (r.Target == "k8s" && broker.Kind == "sqs" && r.Cloud != "aws")
        {
            throw new DeployConfigException($"deploy.yaml queue: an sqs:// queue on Kubernetes needs --cloud aws (the workers and KEDA reach SQS with the IRSA role; '{url}' on {r.Cloud})");
        }
        if (r.Target == "k8s" && broker.Kind == "gcppubsub" && r.Cloud != "gcp")
        {
            throw new DeployConfigException($"deploy.yaml queue: a gcppubsub:// queue on Kubernetes needs --cloud gcp (the workers and KEDA reach Pub/Sub with GKE Workload Identity; '{url}' on {r.Cloud})");
        }
        if (r.Target == "ecs" && broker.Kind == "amqp" && spec.Aws.BrokerSecretArn.Length == 0)
        {
            throw new DeployConfigException("deploy.yaml aws.brokerSecretArn: an amqp(s):// queue on ECS needs the Secrets Manager ARN of its full URL with credentials");
        }
        if (r.Target == "containerapps" && broker.Kind != "azqueue")
        {
            throw new DeployConfigException($"deploy.yaml queue: Container Apps jobs scale on Azure Queue Storage; '{url}' is {broker.Kind} (give azqueue://ACCOUNT/QUEUE)");
        }
        if (r.Target == "ecs")
        {
            EcsRenderer.FargateSize("server", spec.Server.Cpu, spec.Server.MemoryGiB, fargate: r.Gpu == "none");
            EcsRenderer.FargateSize("workers", spec.Workers.Cpu, spec.Workers.MemoryGiB, fargate: true);
            EcsRenderer.FargateSize("archive", spec.Archive.Cpu, spec.Archive.MemoryGiB, fargate: true);
            if (spec.Archive.Enabled && spec.Archive.Database == "postgres" && spec.Aws.DatabaseSecretArn.Length == 0)
            {
                throw new DeployConfigException("deploy.yaml aws.databaseSecretArn: archive.database postgres on ECS needs the Secrets Manager ARN of the connection string");
            }
        }
        if (r.Target == "containerapps")
        {
            CaSize("workers", spec.Workers.Cpu, spec.Workers.MemoryGiB);
            CaSize("archive", spec.Archive.Cpu, spec.Archive.MemoryGiB);
            if (r.Gpu == "none")
            {
                CaSize("server", spec.Server.Cpu, spec.Server.MemoryGiB);
            }
        }
        return new RenderContext(r, spec, broker, scaler);
    }

    private static void CaSize(string field, double cpu, double mem)
    {
        if (!Catalog.ValidContainerAppsSize(cpu, mem))
        {
            throw new DeployConfigException($"deploy.yaml {field}: {cpu} vCPU / {mem} GiB is not a Container Apps consumption size (0.25..4 vCPU in steps of 0.25, memory = 2 × vCPU GiB)");
        }
    }

    private static void One(string what, string value, string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            throw new DeployConfigException($"{what}: unknown value '{value}' (expected {string.Join(", ", allowed)})");
        }
    }

    private static void Positive(string field, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
        {
            throw new DeployConfigException($"deploy.yaml {field}: {value} must be a positive number");
        }
    }

    private static void Replicas(string field, int min, int max, int lowest)
    {
        if (min < lowest || max < Math.Max(min, 1))
        {
            throw new DeployConfigException($"deploy.yaml {field}.minReplicas/maxReplicas: {min}/{max} (need {lowest} ≤ min ≤ max, max ≥ 1)");
        }
    }
}
