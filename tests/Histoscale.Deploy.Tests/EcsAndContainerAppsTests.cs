using System.Text.Json.Nodes;

namespace Histoscale.Deploy.Tests;

/// <summary>ECS task definitions, services and scaling policies; Container Apps apps and jobs.</summary>
public sealed class EcsAndContainerAppsTests
{
    /// <summary>Fargate's published task sizes: CPU units and the memory (MiB) each allows.</summary>
    private static bool IsFargateSize(int cpu, int memory) => cpu switch
    {
        256 => memory is 512 or 1024 or 2048,
        512 => memory is >= 1024 and <= 4096 && memory % 1024 == 0,
        1024 => memory is >= 2048 and <= 8192 && memory % 1024 == 0,
        2048 => memory is >= 4096 and <= 16384 && memory % 1024 == 0,
        4096 => memory is >= 8192 and <= 30720 && memory % 1024 == 0,
        8192 => memory is >= 16384 and <= 61440 && memory % 4096 == 0,
        16384 => memory is >= 32768 and <= 122880 && memory % 8192 == 0,
        _ => false,
    };

    private static string Str(JsonNode? n) => n!.GetValue<string>();

    /// <summary>ECS has no broker of its own that the worker supports: the tests give Redis on ElastiCache.</summary>
    private const string EcsQueue = "queue: redis://jobs.abc123.euw1.cache.amazonaws.com:6379\n";

    [Theory]
    [InlineData("none", "arm64", "")]
    [InlineData("t4", "amd64", "workers: {cpu: 0.5, memoryGiB: 1}\n")]
    [InlineData("none", "amd64", "server: {cpu: 8, memoryGiB: 16}\nworkers: {cpu: 0.25, memoryGiB: 0.5}\narchive: {cpu: 16, memoryGiB: 32}\n")]
    public void TaskDefinitionsUseValidFargateSizesAwsvpcLogsAndATaskRole(string gpu, string arch, string yaml)
    {
        using var r = new Rendered("ecs", "aws", gpu, arch, EcsQueue + yaml);
        var tasks = r.Files.Where(f => f.Path.StartsWith("ecs/taskdef-", StringComparison.Ordinal)).Select(f => (f.Path, Task: r.Json(f.Path))).ToList();
        Assert.Equal(3, tasks.Count);
        foreach (var (path, t) in tasks)
        {
            var fargate = t["requiresCompatibilities"]!.AsArray().Select(Str).Contains("FARGATE");
            Assert.Equal(fargate, !(gpu != "none" && path.EndsWith("server.json", StringComparison.Ordinal)));
            if (fargate)
            {
                Assert.True(IsFargateSize(int.Parse(Str(t["cpu"])), int.Parse(Str(t["memory"]))), $"{path}: {t["cpu"]}/{t["memory"]} is not a Fargate size");
                Assert.Equal(arch == "arm64" ? "ARM64" : "X86_64", Str(t["runtimePlatform"]!["cpuArchitecture"]));
            }
            else
            {
                Assert.Equal("GPU", Str(t["containerDefinitions"]![0]!["resourceRequirements"]![0]!["type"]));
            }
            Assert.Equal("awsvpc", Str(t["networkMode"]));
            Assert.StartsWith("arn:aws:iam::", Str(t["taskRoleArn"]));
            var container = t["containerDefinitions"]![0]!;
            Assert.Equal("awslogs", Str(container["logConfiguration"]!["logDriver"]));
            Assert.True(container["readonlyRootFilesystem"]!.GetValue<bool>());
        }
        var service = r.Json("ecs/service-server.json");
        if (gpu != "none")
        {
            Assert.Null(service["launchType"]);
            Assert.NotNull(service["capacityProviderStrategy"]);
        }
        else
        {
            Assert.Equal("FARGATE", Str(service["launchType"]));
        }
    }

    /// <summary>
    /// Workers on ECS take jobs from a broker the worker implements (Redis on ElastiCache, RabbitMQ on Amazon MQ) and
    /// scale on their CPU (target tracking), never below one task (CPU says nothing at zero tasks).
    /// </summary>
    [Theory]
    [InlineData("queue: redis://jobs.abc123.euw1.cache.amazonaws.com:6379\n")]
    [InlineData("queue: amqps://b-1234.mq.eu-west-1.amazonaws.com/lab\naws: {brokerSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:mq'}\n")]
    public void EcsWorkersTakeJobsFromABrokerTheWorkerSupportsAndScaleOnCpu(string queue)
    {
        using var r = new Rendered("ecs", "aws", yaml: queue + "workers: {maxReplicas: 7}\n");
        var target = r.Json("ecs/scalable-target-worker.json");
        Assert.Equal(1, target["MinCapacity"]!.GetValue<int>());
        Assert.Equal(7, target["MaxCapacity"]!.GetValue<int>());
        Assert.True(r.Json("ecs/service-worker.json")["desiredCount"]!.GetValue<int>() >= 1);
        var policy = r.Json("ecs/scaling-policy-worker.json");
        Assert.Equal(Str(target["ResourceId"]), Str(policy["ResourceId"]));
        Assert.Equal("TargetTrackingScaling", Str(policy["PolicyType"]));
        var config = policy["TargetTrackingScalingPolicyConfiguration"]!;
        Assert.Equal("ECSServiceAverageCPUUtilization", Str(config["PredefinedMetricSpecification"]!["PredefinedMetricType"]));
        Assert.InRange(config["TargetValue"]!.GetValue<double>(), 1, 100);
        Assert.DoesNotContain("sqs", r.Files.Single(f => f.Path == "ecs/scaling-policy-worker.json").Content, StringComparison.OrdinalIgnoreCase);

        var container = r.Json("ecs/taskdef-worker.json")["containerDefinitions"]![0]!;
        var command = container["command"]!.AsArray().Select(Str).ToList();
        if (queue.Contains("amqps", StringComparison.Ordinal))
        {
            // The URL with its credentials comes from Secrets Manager, through sh -c.
            Assert.Equal("arn:aws:secretsmanager:eu-west-1:1:secret:mq", Str(container["secrets"]!.AsArray().Single(e => Str(e!["name"]) == "HISTOSCALE_QUEUE")!["valueFrom"]));
            Assert.Contains("--queue \"$HISTOSCALE_QUEUE\"", Assert.Single(command));
        }
        else
        {
            Assert.Equal("redis://jobs.abc123.euw1.cache.amazonaws.com:6379", command[command.IndexOf("--queue") + 1]);
            // SIGTERM to SIGKILL is stopTimeout (at most 120 s on ECS): the worker's grace fits inside it.
            var stop = container["stopTimeout"]!.GetValue<int>();
            Assert.InRange(stop, 1, 120);
            Assert.True(int.Parse(command[command.IndexOf("--grace") + 1]) < stop);
        }
    }

    [Fact]
    public void EcsSecretsComeFromSecretsManager()
    {
        using var r = new Rendered("ecs", "aws", yaml: EcsQueue + "archive: {database: postgres}\naws: {databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:db'}\n");
        var archive = r.Json("ecs/taskdef-archive.json")["containerDefinitions"]![0]!;
        Assert.Equal("arn:aws:secretsmanager:eu-west-1:1:secret:db", Str(archive["secrets"]![0]!["valueFrom"]));
        Assert.DoesNotContain(archive["environment"]!.AsArray(), e => Str(e!["name"]) == "HISTOSCALE_DB");
        Assert.Contains("--db \"$HISTOSCALE_DB\"", Str(archive["command"]![0]));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("t4")]
    public void ContainerAppsHaveScaleRulesAnEventJobAndAManagedIdentity(string gpu)
    {
        using var r = new Rendered("containerapps", "azure", gpu, yaml: "queue: azqueue://labstore/slides\narchive: {database: postgres}\n");
        var server = r.YamlFile("containerapps/server.yaml");
        Assert.Equal("UserAssigned", Str(server["identity"]!["type"]));
        Assert.NotEmpty(server["properties"]!["template"]!["scale"]!["rules"]!.AsArray());
        Assert.Equal(gpu == "none" ? "Consumption" : "gpu-t4", Str(server["properties"]!["workloadProfileName"]));
        var probes = server["properties"]!["template"]!["containers"]![0]!["probes"]!.AsArray();
        Assert.All(probes, p => Assert.StartsWith("/v2/health/", Str(p!["httpGet"]!["path"])));

        var job = r.YamlFile("containerapps/worker-job.yaml");
        Assert.Equal("Microsoft.App/jobs", Str(job["type"]));
        Assert.Equal("Event", Str(job["properties"]!["configuration"]!["triggerType"]));
        var scale = job["properties"]!["configuration"]!["eventTriggerConfig"]!["scale"]!;
        Assert.Equal("0", Str(scale["minExecutions"]));
        var rule = scale["rules"]![0]!;
        Assert.Equal("azure-queue", Str(rule["type"]));
        Assert.Equal("slides", Str(rule["metadata"]!["queueName"]));
        Assert.Equal("labstore", Str(rule["metadata"]!["accountName"]));
        Assert.Contains("userAssignedIdentities", Str(rule["identity"]));
        // Container Apps kills a job replica 30 s after SIGTERM: the worker's grace fits inside that.
        var workerArgs = job["properties"]!["template"]!["containers"]![0]!["args"]!.AsArray().Select(Str).ToList();
        Assert.True(int.Parse(workerArgs[workerArgs.IndexOf("--grace") + 1]) < 30);
        Assert.Equal("azqueue://labstore/slides", workerArgs[workerArgs.IndexOf("--queue") + 1]);

        var archive = r.YamlFile("containerapps/archive.yaml");
        var env = archive["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray();
        Assert.All(env.Where(e => Str(e!["name"]) is "HISTOSCALE_DB" or "HISTOSCALE_ADMIN_TOKEN"), e => Assert.NotNull(e!["secretRef"]));
        Assert.All(archive["properties"]!["configuration"]!["secrets"]!.AsArray(), s => Assert.NotNull(s!["keyVaultUrl"]));
    }

    /// <summary>
    /// ECS workers on SQS scale on AWS's documented pattern: target tracking on the backlog per task (metric math over
    /// the queue's visible + in-flight messages and the service's running tasks), targeting scaling.queueTarget.
    /// </summary>
    [Fact]
    public void EcsWorkersOnSqsScaleOnTheBacklogPerTask()
    {
        using var r = new Rendered("ecs", "aws", yaml: "queue: sqs://eu-west-1/slides\nscaling: {queueTarget: 3}\nworkers: {maxReplicas: 9}\n");
        var policy = r.Json("ecs/scaling-policy-worker.json");
        Assert.Equal(Str(r.Json("ecs/scalable-target-worker.json")["ResourceId"]), Str(policy["ResourceId"]));
        var config = policy["TargetTrackingScalingPolicyConfiguration"]!;
        Assert.Equal(3, config["TargetValue"]!.GetValue<double>());
        Assert.Null(config["PredefinedMetricSpecification"]);
        var metrics = config["CustomizedMetricSpecification"]!["Metrics"]!.AsArray();
        var result = Assert.Single(metrics, m => m!["ReturnData"]!.GetValue<bool>())!;
        var expression = Str(result["Expression"]);
        // Every id the expression uses is a metric of the policy; the queue's metrics name the worker's queue.
        var byId = metrics.Where(m => m!["MetricStat"] is not null).ToDictionary(m => Str(m!["Id"]), m => m!["MetricStat"]!["Metric"]!);
        Assert.All(byId.Keys, id => Assert.Contains(id, expression));
        Assert.Contains("/", expression);
        var sqs = byId.Values.Where(m => Str(m["Namespace"]) == "AWS/SQS").ToList();
        Assert.Equal(["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesVisible"], sqs.Select(m => Str(m["MetricName"])).Order());
        Assert.All(sqs, m => Assert.Equal("slides", Str(m["Dimensions"]![0]!["Value"])));
        var tasks = Assert.Single(byId.Values, m => Str(m["Namespace"]) == "ECS/ContainerInsights");
        Assert.Equal("RunningTaskCount", Str(tasks["MetricName"]));
        Assert.Contains(tasks["Dimensions"]!.AsArray(), d => Str(d!["Name"]) == "ServiceName" && Str(d["Value"]) == Str(r.Json("ecs/service-worker.json")["serviceName"]));

        var container = r.Json("ecs/taskdef-worker.json")["containerDefinitions"]![0]!;
        var command = container["command"]!.AsArray().Select(Str).ToList();
        Assert.Equal("sqs://eu-west-1/slides", command[command.IndexOf("--queue") + 1]);
    }

    [Theory]
    [InlineData("containerapps", "azure", "none", "workers: {cpu: 1, memoryGiB: 3}\n", "workers")]
    [InlineData("ecs", "aws", "none", EcsQueue + "server: {cpu: 3, memoryGiB: 8}\n", "server")]
    [InlineData("ecs", "aws", "none", EcsQueue + "workers: {cpu: 4, memoryGiB: 4}\n", "workers")]
    [InlineData("ecs", "aws", "none", "", "queue")]
    [InlineData("ecs", "aws", "none", "queue: azqueue://labstore/slides\n", "queue")]
    [InlineData("ecs", "aws", "none", "queue: amqps://mq.lab/v\n", "aws.brokerSecretArn")]
    [InlineData("k8s", "aws", "none", "scaling: {activationQueue: 2}\n", "scaling.activationQueue")]
    [InlineData("k8s", "gcp", "none", "queue: sqs://eu-west-1/slides\n", "--cloud aws")]
    [InlineData("containerapps", "azure", "none", "queue: sqs://eu-west-1/slides\n", "queue")]
    [InlineData("ecs", "aws", "none", "queue: sqs://eu-west-1/a/b\n", "sqs://REGION/QUEUE")]
    [InlineData("k8s", "aws", "none", "queue: gcppubsub://lab-project/slides\n", "--cloud gcp")]
    [InlineData("ecs", "aws", "none", "queue: gcppubsub://lab-project/slides\n", "queue")]
    [InlineData("k8s", "azure", "l4", "", "--gpu l4")]
    [InlineData("k8s", "aws", "none", "workers: {mode: batch}\n", "workers.mode")]
    [InlineData("k8s", "aws", "none", "scaling: {queueTarget: 0}\n", "scaling")]
    [InlineData("k8s", "aws", "none", "archive: {replicas: 3}\n", "archive.replicas")]
    [InlineData("k8s", "aws", "none", "ports: {http: 8001}\n", "ports")]
    [InlineData("k8s", "aws", "none", "queue: 'amqp://u:p@rabbit/v'\n", "credentials")]
    public void InvalidDescriptionsThrowNamingTheField(string target, string cloud, string gpu, string yaml, string named)
    {
        var ex = Assert.Throws<DeployConfigException>(() => DeployRenderer.Render(new RenderRequest { Target = target, Cloud = cloud, Gpu = gpu }, yaml));
        Assert.Contains(named, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void TheDefaultDescriptionRoundTrips()
    {
        var yaml = DeployRenderer.DefaultConfigYaml();
        var a = DeployRenderer.Render(new RenderRequest { Target = "k8s", Cloud = "gcp" }, yaml);
        var b = DeployRenderer.Render(new RenderRequest { Target = "k8s", Cloud = "gcp" }, null);
        Assert.Equal(b.Select(f => f.Content), a.Select(f => f.Content));
    }
}
