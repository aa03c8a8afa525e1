using System.Globalization;
using static Histoscale.Deploy.Emit;

namespace Histoscale.Deploy;

/// <summary>
/// Amazon ECS: task definitions (Fargate for CPU, an EC2 GPU capacity provider for --gpu), services, and
/// Application Auto Scaling: target tracking on CPU for the servers; for the workers, on the SQS backlog per task
/// (sqs://) or on CPU (Redis on ElastiCache, RabbitMQ on Amazon MQ). Each file is the
/// --cli-input-json of one aws CLI call (docs/deploy.md lists them).
/// </summary>
internal static class EcsRenderer
{
    /// <summary>ECS's ceiling on <c>stopTimeout</c> (seconds between SIGTERM and SIGKILL).</summary>
    private const int MaxStopTimeout = 120;

    /// <summary>Fargate CPU units for a vCPU count, or throws naming the field when the pair is not a Fargate size.</summary>
    public static (int Cpu, int Memory) FargateSize(string field, double vcpu, double memoryGiB, bool fargate)
    {
        var cpu = (int)Math.Round(vcpu * 1024);
        var mem = (int)Math.Round(memoryGiB * 1024);
        if (fargate && !Catalog.FargateMemory(cpu).Contains(mem))
        {
            var memories = Catalog.FargateMemory(cpu).ToList();
            var hint = memories.Count == 0
                ? "vCPU must be 0.25, 0.5, 1, 2, 4, 8 or 16"
                : $"with {S(vcpu)} vCPU memory must be {S(memories[0] / 1024.0)}..{S(memories[^1] / 1024.0)} GiB in steps of {S((memories.Count > 1 ? memories[1] - memories[0] : memories[0]) / 1024.0)}";
            throw new DeployConfigException($"deploy.yaml {field}: {S(vcpu)} vCPU / {S(memoryGiB)} GiB is not a Fargate size ({hint})");
        }
        return (cpu, mem);
    }

    public static IReadOnlyList<RenderedFile> Render(RenderContext c)
    {
        var s = c.Spec;
        var files = new List<RenderedFile>();
        var serverGpu = c.Gpu;
        var ns = $"{s.Name}.local";

        files.Add(new("ecs/taskdef-server.json", Json(TaskDefinition(c, "server", c.ServerImage, KubernetesRenderer.ServeArgs(c),
            s.Server.Cpu, s.Server.MemoryGiB, fargate: !serverGpu,
            ports: [s.Ports.Http, s.Ports.Grpc, s.Ports.Metrics],
            health: $"curl -fsS http://127.0.0.1:{s.Ports.Http}/v2/health/ready || exit 1",
            env: [], secrets: [], stopTimeout: s.Server.ExitTimeoutSeconds + 15))));
        var workerArgs = KubernetesRenderer.WorkerArgs(c, $"{c.ServerName}.{ns}", s.Workers.Mode == "job");
        // RabbitMQ's URL carries credentials: from Secrets Manager, through sh -c (as the archive's --db).
        var amqp = c.Broker.Kind == "amqp";
        workerArgs[workerArgs.IndexOf("$(HISTOSCALE_QUEUE)")] = amqp ? "$HISTOSCALE_QUEUE" : c.Broker.Url;
        // ECS kills a container at most 120 s after SIGTERM (stopTimeout's ceiling): a worker finishes its slide
        // within that or hands it back with its checkpoint.
        var grace = Math.Min(s.Workers.GraceSeconds, MaxStopTimeout - 10);
        workerArgs[workerArgs.IndexOf("--grace") + 1] = grace.ToString(CultureInfo.InvariantCulture);
        files.Add(new("ecs/taskdef-worker.json", Json(TaskDefinition(c, "worker", s.Image, workerArgs,
            s.Workers.Cpu, s.Workers.MemoryGiB, fargate: true, ports: [s.Ports.WorkerMetrics], health: null,
            env: [("HISTOSCALE_OUTPUT", c.Output)], secrets: amqp ? [("HISTOSCALE_QUEUE", s.Aws.BrokerSecretArn)] : [], stopTimeout: grace + 10,
            viaShell: amqp))));
        files.Add(new("ecs/service-server.json", Json(Service(c, "server", serverGpu, s.Server.MinReplicas, ns, s.Ports.Grpc))));
        files.Add(new("ecs/service-worker.json", Json(Service(c, "worker", gpu: false, Math.Max(1, s.Workers.MinReplicas), ns, port: null))));
        files.Add(new("ecs/scalable-target-server.json", Json(ScalableTarget(c, "server", s.Server.MinReplicas, s.Server.MaxReplicas))));
        // CPU target tracking has no signal at zero tasks: at least one worker stays up.
        files.Add(new("ecs/scalable-target-worker.json", Json(ScalableTarget(c, "worker", Math.Max(1, s.Workers.MinReplicas), Math.Max(1, s.Workers.MaxReplicas)))));
        files.Add(new("ecs/scaling-policy-server.json", Json(ServerPolicy(c))));
        files.Add(new("ecs/scaling-policy-worker.json", Json(WorkerPolicy(c))));
        if (s.Archive.Enabled)
        {
            var sqlite = s.Archive.Database == "sqlite";
            // Fargate passes no shell expansion: the connection string reaches --db through sh -c from a secret.
            var args = KubernetesRenderer.ArchiveArgs(c, sqlite ? "/data/archive.sqlite" : "$HISTOSCALE_DB");
            files.Add(new("ecs/taskdef-archive.json", Json(TaskDefinition(c, "archive", s.Image, args,
                s.Archive.Cpu, s.Archive.MemoryGiB, fargate: true, ports: [s.Ports.Http],
                health: $"curl -fsS http://127.0.0.1:{s.Ports.Http}/v2/health/live || exit 1",
                env: [],
                secrets: sqlite ? [] : [("HISTOSCALE_DB", s.Aws.DatabaseSecretArn)],
                stopTimeout: 30, viaShell: !sqlite))));
            files.Add(new("ecs/service-archive.json", Json(Service(c, "archive", gpu: false, s.Archive.Replicas, ns, s.Ports.Http))));
        }
        return files;
    }

    private static string Family(RenderContext c, string role) => $"{c.Spec.Name}-{role}";

    private static Dictionary<string, object?> TaskDefinition(RenderContext c, string role, string image, List<string> args, double vcpu, double memGiB,
        bool fargate, int[] ports, string? health, (string Name, string Value)[] env, (string Name, string Arn)[] secrets, int stopTimeout, bool viaShell = false)
    {
        var s = c.Spec;
        var (cpu, mem) = FargateSize(role, vcpu, memGiB, fargate);
        var arm = fargate && c.Arm64;
        // Fargate expands no variables in commands: a secret reaches a flag through sh -c.
        var command = viaShell
            ? L("exec histoscale " + string.Join(' ', args.Select(a => a.StartsWith('$') ? $"\"{a}\"" : a)))
            : args.Cast<object?>().ToList();
        var container = M(
            ("name", role),
            ("image", image),
            ("essential", true),
            ("command", command),
            ("entryPoint", viaShell ? L("sh", "-c") : null),
            ("portMappings", ports.Select(p => (object?)M(("containerPort", p), ("protocol", "tcp"), ("name", $"{role}-{p}"))).ToList()),
            ("environment", env.Select(e => (object?)M(("name", e.Name), ("value", e.Value))).ToList()),
            ("secrets", secrets.Length == 0 ? null : secrets.Select(e => (object?)M(("name", e.Name), ("valueFrom", e.Arn))).ToList()),
            ("readonlyRootFilesystem", true),
            ("user", "10001:10001"),
            ("stopTimeout", Math.Min(MaxStopTimeout, stopTimeout)),
            ("mountPoints", role == "archive"
                ? L(M(("sourceVolume", "tmp"), ("containerPath", "/tmp")), M(("sourceVolume", "data"), ("containerPath", "/data")))
                : L(M(("sourceVolume", "tmp"), ("containerPath", "/tmp")))),
            ("healthCheck", health is null ? null : M(("command", L("CMD-SHELL", health)), ("interval", 15), ("timeout", 5), ("retries", 3), ("startPeriod", 60))),
            ("resourceRequirements", !fargate && c.Gpu ? L(M(("type", "GPU"), ("value", "1"))) : null),
            ("logConfiguration", M(("logDriver", "awslogs"), ("options", M(
                ("awslogs-group", s.Aws.LogGroup),
                ("awslogs-region", s.Aws.Region),
                ("awslogs-stream-prefix", role),
                ("awslogs-create-group", "true"))))));
        return M(
            ("family", Family(c, role)),
            ("taskRoleArn", $"arn:aws:iam::{s.Aws.AccountId}:role/{s.Aws.RoleName}"),
            ("executionRoleArn", $"arn:aws:iam::{s.Aws.AccountId}:role/{s.Aws.ExecutionRoleName}"),
            ("networkMode", "awsvpc"),
            ("requiresCompatibilities", L(fargate ? "FARGATE" : "EC2")),
            ("cpu", cpu.ToString(CultureInfo.InvariantCulture)),
            ("memory", mem.ToString(CultureInfo.InvariantCulture)),
            ("runtimePlatform", M(("operatingSystemFamily", "LINUX"), ("cpuArchitecture", arm ? "ARM64" : "X86_64"))),
            // Task storage: /tmp, and the archive's /data (SQLite; not kept across tasks — use PostgreSQL to keep it).
            ("volumes", role == "archive" ? L(M(("name", "tmp")), M(("name", "data"))) : L(M(("name", "tmp")))),
            ("containerDefinitions", L(container)));
    }

    private static Dictionary<string, object?> Service(RenderContext c, string role, bool gpu, int desired, string ns, int? port) => M(
        ("cluster", c.Spec.Aws.Cluster),
        ("serviceName", Family(c, role)),
        ("taskDefinition", Family(c, role)),
        ("desiredCount", desired),
        ("launchType", gpu ? null : "FARGATE"),
        ("capacityProviderStrategy", gpu ? L(M(("capacityProvider", c.Spec.Aws.GpuCapacityProvider), ("weight", 1))) : null),
        ("networkConfiguration", M(("awsvpcConfiguration", M(
            ("subnets", c.Spec.Aws.Subnets.Cast<object?>().ToList()),
            ("securityGroups", c.Spec.Aws.SecurityGroups.Cast<object?>().ToList()),
            ("assignPublicIp", "DISABLED"))))),
        ("serviceConnectConfiguration", port is null ? M(("enabled", true), ("namespace", ns)) : M(
            ("enabled", true), ("namespace", ns),
            ("services", L(M(("portName", $"{role}-{port}"), ("discoveryName", Family(c, role)), ("clientAliases", L(M(("port", port), ("dnsName", $"{Family(c, role)}.{ns}"))))))))),
        ("deploymentConfiguration", M(("minimumHealthyPercent", 100), ("maximumPercent", 200), ("deploymentCircuitBreaker", M(("enable", true), ("rollback", true))))),
        ("enableExecuteCommand", false),
        ("propagateTags", "SERVICE"));

    private static string ResourceId(RenderContext c, string role) => $"service/{c.Spec.Aws.Cluster}/{Family(c, role)}";

    private static Dictionary<string, object?> ScalableTarget(RenderContext c, string role, int min, int max) => M(
        ("ServiceNamespace", "ecs"),
        ("ResourceId", ResourceId(c, role)),
        ("ScalableDimension", "ecs:service:DesiredCount"),
        ("MinCapacity", min),
        ("MaxCapacity", max));

    private static Dictionary<string, object?> ServerPolicy(RenderContext c) => M(
        ("PolicyName", $"{Family(c, "server")}-cpu"),
        ("ServiceNamespace", "ecs"),
        ("ResourceId", ResourceId(c, "server")),
        ("ScalableDimension", "ecs:service:DesiredCount"),
        ("PolicyType", "TargetTrackingScaling"),
        ("TargetTrackingScalingPolicyConfiguration", M(
            ("TargetValue", 70.0),
            ("PredefinedMetricSpecification", M(("PredefinedMetricType", "ECSServiceAverageCPUUtilization"))),
            ("ScaleOutCooldown", (int)Math.Max(c.Scaler.ScaleUpStabilizationSeconds, 60)),
            ("ScaleInCooldown", (int)c.Scaler.ScaleDownStabilizationSeconds))));

    /// <summary>
    /// Workers on ECS taking jobs from Redis (ElastiCache) or RabbitMQ (Amazon MQ), whose backlog CloudWatch does not
    /// see per queue, are scaled on their own CPU (target tracking, <see cref="WorkerCpuTarget"/> %): a worker with
    /// a slide in hand keeps its cores busy, an idle one polls. Target tracking on CPU cannot start from zero
    /// tasks, so the service keeps at least one (see ScalableTarget). On SQS they scale on the backlog per task.
    /// </summary>
    internal const double WorkerCpuTarget = 60;

    private static Dictionary<string, object?> WorkerPolicy(RenderContext c) => c.Broker.Kind == "sqs" ? SqsWorkerPolicy(c) : M(
        ("PolicyName", $"{Family(c, "worker")}-cpu"),
        ("ServiceNamespace", "ecs"),
        ("ResourceId", ResourceId(c, "worker")),
        ("ScalableDimension", "ecs:service:DesiredCount"),
        ("PolicyType", "TargetTrackingScaling"),
        ("TargetTrackingScalingPolicyConfiguration", M(
            ("TargetValue", WorkerCpuTarget),
            ("PredefinedMetricSpecification", M(("PredefinedMetricType", "ECSServiceAverageCPUUtilization"))),
            ("ScaleOutCooldown", (int)Math.Max(c.Scaler.PollingIntervalSeconds, 60)),
            ("ScaleInCooldown", (int)c.Scaler.CooldownSeconds))));

    /// <summary>
    /// AWS's documented pattern for queue workers: target tracking on the backlog per task, a metric-math
    /// expression over CloudWatch's SQS metrics and the service's running tasks (Container Insights'
    /// RunningTaskCount; enable Container Insights on the cluster). The backlog is the unfinished work,
    /// ApproximateNumberOfMessagesVisible + ApproximateNumberOfMessagesNotVisible (taken, in progress), for the same
    /// reason as the KEDA ScaledObject's: counting only the visible messages would scale in while the last slides
    /// run. The target is scaling.queueTarget slides per task. The service keeps at least one task (the expression
    /// divides by the running tasks).
    /// </summary>
    private static Dictionary<string, object?> SqsWorkerPolicy(RenderContext c)
    {
        var queue = L(M(("Name", "QueueName"), ("Value", c.Broker.QueueName)));
        Dictionary<string, object?> Sqs(string id, string metric) => M(
            ("Id", id),
            ("MetricStat", M(("Metric", M(("Namespace", "AWS/SQS"), ("MetricName", metric), ("Dimensions", queue))), ("Stat", "Sum"))),
            ("ReturnData", false));
        return M(
            ("PolicyName", $"{Family(c, "worker")}-sqs-backlog-per-task"),
            ("ServiceNamespace", "ecs"),
            ("ResourceId", ResourceId(c, "worker")),
            ("ScalableDimension", "ecs:service:DesiredCount"),
            ("PolicyType", "TargetTrackingScaling"),
            ("TargetTrackingScalingPolicyConfiguration", M(
                ("TargetValue", (double)c.Scaler.QueueTarget),
                ("CustomizedMetricSpecification", M(("Metrics", L(
                    Sqs("visible", "ApproximateNumberOfMessagesVisible"),
                    Sqs("inflight", "ApproximateNumberOfMessagesNotVisible"),
                    M(
                        ("Id", "tasks"),
                        ("MetricStat", M(("Metric", M(("Namespace", "ECS/ContainerInsights"), ("MetricName", "RunningTaskCount"), ("Dimensions", L(
                            M(("Name", "ClusterName"), ("Value", c.Spec.Aws.Cluster)),
                            M(("Name", "ServiceName"), ("Value", Family(c, "worker"))))))), ("Stat", "Average"))),
                        ("ReturnData", false)),
                    M(("Id", "backlog_per_task"), ("Expression", "(visible + inflight) / tasks"), ("Label", "SQS backlog per task"), ("ReturnData", true)))))),
                ("ScaleOutCooldown", (int)Math.Max(c.Scaler.PollingIntervalSeconds, 60)),
                ("ScaleInCooldown", (int)c.Scaler.CooldownSeconds))));
    }
}
