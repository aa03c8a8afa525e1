using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Histoscale.Costing.Simulation;

namespace Histoscale.Deploy.Tests;

/// <summary>The kustomize base + overlays as kubectl builds them: properties, not golden files.</summary>
public sealed class KubernetesTests
{
    private static List<JsonNode> Build(Rendered r, string cloud)
    {
        var built = r.Kustomize(cloud);
        Skip.If(built is null, "kubectl is not installed: the kustomize build cannot run here (CI has it)");
        Assert.True(built.Value.Code == 0, $"kubectl kustomize overlays/{cloud}: {built.Value.Err}");
        return Rendered.Docs(built.Value.Out);
    }

    private static JsonNode Named(List<JsonNode> objs, string kind, string name) =>
        objs.Single(o => o["kind"]!.GetValue<string>() == kind && o["metadata"]!["name"]!.GetValue<string>() == name);

    private static string Str(JsonNode? n) => n!.GetValue<string>();

    [SkippableTheory]
    [InlineData("aws", "none", "amd64", "deployment")]
    [InlineData("aws", "a10g", "arm64", "job")]
    [InlineData("azure", "t4", "amd64", "job")]
    [InlineData("azure", "none", "arm64", "deployment")]
    [InlineData("gcp", "l4", "arm64", "deployment")]
    [InlineData("gcp", "h100", "amd64", "job")]
    public void EachOverlayBuildsWithTheCloudsIdentityGpuAndArchitecture(string cloud, string gpu, string arch, string mode)
    {
        using var r = new Rendered("k8s", cloud, gpu, arch, $"workers: {{mode: {mode}}}\ngcp: {{project: lab-1}}\n");
        var objs = Build(r, cloud);

        var sa = Named(objs, "ServiceAccount", "histoscale");
        var annotations = sa["metadata"]!["annotations"]!.AsObject();
        var identityKey = cloud switch { "aws" => "eks.amazonaws.com/role-arn", "azure" => "azure.workload.identity/client-id", _ => "iam.gke.io/gcp-service-account" };
        Assert.True(annotations.ContainsKey(identityKey), $"service account lacks {identityKey}");
        if (cloud == "gcp")
        {
            Assert.EndsWith("@lab-1.iam.gserviceaccount.com", Str(annotations[identityKey]));
        }

        var server = Named(objs, "Deployment", "histoscale-server");
        var serverPod = Rendered.PodSpec(server);
        var serverContainer = Rendered.Containers(server).Single();
        var workers = objs.Single(o => o["metadata"]!["name"]!.GetValue<string>() == "histoscale-worker" && o["kind"]!.GetValue<string>() is "Deployment" or "ScaledJob");
        Assert.Equal(mode == "job" ? "ScaledJob" : "Deployment", Str(workers["kind"]));
        foreach (var pod in new[] { serverPod, Rendered.PodSpec(workers) })
        {
            Assert.Equal(Str(sa["metadata"]!["name"]), Str(pod["serviceAccountName"]));
        }

        if (gpu == "none")
        {
            Assert.Null(serverContainer["resources"]!["limits"]!["nvidia.com/gpu"]);
            Assert.Equal(arch, Str(serverPod["nodeSelector"]!["kubernetes.io/arch"]));
            Assert.Contains("cpu", serverContainer["args"]!.AsArray().Select(a => Str(a)));
        }
        else
        {
            Assert.Equal("1", Str(serverContainer["resources"]!["limits"]!["nvidia.com/gpu"]));
            var selector = serverPod["nodeSelector"]!.AsObject();
            var key = cloud == "gcp" ? "cloud.google.com/gke-accelerator" : "node.kubernetes.io/instance-type";
            Assert.True(selector.ContainsKey(key), $"GPU server lacks the {key} node selector");
            Assert.Contains(gpu == "a10g" ? "g5" : gpu == "t4" ? "T4" : gpu, Str(selector[key]), StringComparison.OrdinalIgnoreCase);
            Assert.False(selector.ContainsKey("kubernetes.io/arch"), "GPU servers are not pinned to the CPU workers' architecture");
            Assert.Contains(serverPod["tolerations"]!.AsArray(), t => Str(t!["key"]) == "nvidia.com/gpu");
            Assert.Contains("cuda", serverContainer["args"]!.AsArray().Select(a => Str(a)));
        }
        Assert.Equal(arch, Str(Rendered.PodSpec(workers)["nodeSelector"]!["kubernetes.io/arch"]));

        if (cloud == "azure")
        {
            foreach (var o in new[] { server, workers, Named(objs, "Deployment", "histoscale-archive") })
            {
                var template = Str(o["kind"]) == "ScaledJob" ? o["spec"]!["jobTargetRef"]!["template"]! : o["spec"]!["template"]!;
                Assert.Equal("true", Str(template["metadata"]!["labels"]!["azure.workload.identity/use"]));
            }
        }
    }

    /// <summary>
    /// A worker Deployment scaled by a ScaledObject must be scaled on unfinished work (queued + in progress), or KEDA
    /// takes it to zero while the last slides are still running; a ScaledJob counts only what waits to be taken.
    /// </summary>
    [Theory]
    [InlineData("", "redis-streams")]
    [InlineData("queue: amqp://rabbit/vhost\n", "rabbitmq")]
    [InlineData("queue: azqueue://labstore/slides\n", "azure-queue")]
    [InlineData("queue: sqs://eu-west-1/slides\n", "aws-sqs-queue")]
    [InlineData("queue: https://sqs.eu-west-1.amazonaws.com/123456789012/slides\n", "aws-sqs-queue")]
    public void ADeploymentsTriggerCountsJobsInProgressAndAScaledJobsDoesNot(string yaml, string scaler)
    {
        using var deployment = new Rendered("k8s", "aws", yaml: yaml);
        var so = deployment.YamlFile("k8s/base/worker-scaledobject.yaml")["spec"]!["triggers"]![0]!;
        Assert.Equal(scaler, Str(so["type"]));
        var meta = so["metadata"]!;
        switch (scaler)
        {
            case "redis-streams":
                // XLEN: the worker deletes an entry when it settles it, so the stream holds unread + pending entries.
                Assert.NotNull(meta["streamLength"]);
                Assert.Null(meta["consumerGroup"]); // with a consumer group KEDA would count pending entries or lag instead
                Assert.Null(meta["lagCount"]);
                break;
            case "rabbitmq":
                Assert.Equal("http", Str(meta["protocol"])); // the management API's count includes unacknowledged messages
                Assert.Equal("MessageCount", Str(meta["mode"]));
                Assert.Equal("management-url", Str(deployment.YamlFile("k8s/base/worker-triggerauthentication.yaml")["spec"]!["secretTargetRef"]![0]!["key"]));
                break;
            case "aws-sqs-queue":
                Assert.Equal("true", Str(meta["scaleOnInFlight"])); // not-visible (taken) messages count
                Assert.Equal("eu-west-1", Str(meta["awsRegion"]));
                // The queue the worker reads: its https URL when given, else its name (KEDA resolves it in the region).
                Assert.Equal(yaml.Contains("https", StringComparison.Ordinal) ? "https://sqs.eu-west-1.amazonaws.com/123456789012/slides" : "slides", Str(meta["queueURL"]));
                var auth = deployment.YamlFile("k8s/base/worker-triggerauthentication.yaml")["spec"]!["podIdentity"]!;
                Assert.Equal("aws", Str(auth["provider"]));
                Assert.Equal("workload", Str(auth["identityOwner"])); // the workers' IRSA role, not a key in a secret
                break;
            default:
                Assert.Equal("all", Str(meta["queueLengthStrategy"])); // invisible (taken) messages count
                break;
        }
        // No activation threshold: one slide in progress must keep one worker.
        Assert.DoesNotContain(meta.AsObject(), kv => kv.Key.StartsWith("activation", StringComparison.Ordinal));

        using var job = new Rendered("k8s", "aws", yaml: yaml + "workers: {mode: job}\n");
        var sj = job.YamlFile("k8s/base/worker-scaledjob.yaml")["spec"]!["triggers"]![0]!["metadata"]!;
        switch (scaler)
        {
            case "redis-streams":
                Assert.NotNull(sj["lagCount"]);
                break;
            case "rabbitmq":
                Assert.Equal("QueueLength", Str(sj["mode"]));
                break;
            case "aws-sqs-queue":
                Assert.Equal("false", Str(sj["scaleOnInFlight"]));
                break;
            default:
                Assert.Equal("visibleonly", Str(sj["queueLengthStrategy"]));
                break;
        }
    }

    /// <summary>Pub/Sub workers on GKE: KEDA's gcp-pubsub trigger on the worker's subscription, read with KEDA's Workload Identity.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("workers: {mode: job}\n")]
    public void PubSubWorkersScaleOnTheirSubscriptionsUndeliveredMessages(string mode)
    {
        using var r = new Rendered("k8s", "gcp", yaml: mode + "queue: gcppubsub://lab-project/slides?topic=slide-jobs\n");
        var file = mode.Length == 0 ? "k8s/base/worker-scaledobject.yaml" : "k8s/base/worker-scaledjob.yaml";
        var trigger = r.YamlFile(file)["spec"]!["triggers"]![0]!;
        Assert.Equal("gcp-pubsub", Str(trigger["type"]));
        Assert.Equal("projects/lab-project/subscriptions/slides", Str(trigger["metadata"]!["subscriptionName"]));
        Assert.Equal("SubscriptionSize", Str(trigger["metadata"]!["mode"]));
        Assert.Equal(mode.Length > 0, trigger["metadata"]!.AsObject().ContainsKey("activationValue"));
        Assert.Equal("gcp", Str(r.YamlFile("k8s/base/worker-triggerauthentication.yaml")["spec"]!["podIdentity"]!["provider"]));
        var worker = Rendered.Containers(r.YamlFile(mode.Length == 0 ? "k8s/base/worker-deployment.yaml" : file)).Single();
        Assert.Contains(worker["env"]!.AsArray(), e => Str(e!["name"]) == "HISTOSCALE_QUEUE" && Str(e["value"]) == "gcppubsub://lab-project/slides?topic=slide-jobs");
    }

    [Theory]
    [InlineData("queue: kafka://k/slides\n", "unknown scheme 'kafka'")]
    public void BrokersTheWorkerCannotUseAreRefused(string yaml, string named)
    {
        foreach (var (target, cloud) in new[] { ("k8s", "aws"), ("k8s", "gcp"), ("ecs", "aws") })
        {
            var ex = Assert.Throws<DeployConfigException>(() => DeployRenderer.Render(new RenderRequest { Target = target, Cloud = cloud }, yaml));
            Assert.Contains("deploy.yaml queue", ex.Message);
            Assert.Contains(named, ex.Message);
            Assert.Contains("redis://, amqp://, amqps://, azqueue://, sqs://, gcppubsub://", ex.Message);
        }
    }

    [SkippableFact]
    public void EveryObjectValidatesAgainstTheKubernetesAndKedaSchemas()
    {
        var tools = Path.Combine(Rendered.RepoRoot(), ".ci", "deploy-tools");
        var node = Rendered.Which("node");
        Skip.If(node is null || !Directory.Exists(Path.Combine(tools, "node_modules", "kubernetes-models")),
            "schema validator absent: run `npm ci --prefix .ci/deploy-tools` (.ci/run does) to validate against kubernetes-models and @kubernetes-models/keda");
        var configs = new (string Cloud, string Gpu, string Yaml)[]
        {
            ("aws", "t4", "workers: {mode: job}\nqueue: amqps://mq.lab/jobs\n"),
            ("azure", "a100", "queue: azqueue://labstore/slides\narchive: {database: postgres}\n"),
            ("gcp", "none", "workers: {mode: job}\n"),
            ("aws", "none", "queue: amqp://rabbit.lab/jobs\n"),
            ("gcp", "l4", ""),
            ("aws", "none", "queue: sqs://eu-west-1/slides\n"),
            ("aws", "none", "workers: {mode: job}\nqueue: https://sqs.eu-west-1.amazonaws.com/123456789012/slides\n"),
            ("gcp", "none", "queue: gcppubsub://lab-project/slides\n"),
            ("gcp", "none", "workers: {mode: job}\nqueue: gcppubsub://lab-project/slides\n"),
        };
        foreach (var (cloud, gpu, yaml) in configs)
        {
            using var r = new Rendered("k8s", cloud, gpu, "arm64", yaml);
            var built = r.Kustomize(cloud);
            Skip.If(built is null, "kubectl is not installed");
            Assert.True(built.Value.Code == 0, built.Value.Err);
            var file = Path.Combine(r.Dir, "built.yaml");
            File.WriteAllText(file, built.Value.Out);
            var (code, stdout, stderr) = Rendered.Exec(node!, [Path.Combine(tools, "validate.mjs"), file]);
            Assert.True(code == 0, $"{cloud}/{gpu}: {stderr}");
            var kinds = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[1]).ToHashSet();
            Assert.Contains("ScaledObject", kinds);
            Assert.Contains("ServiceMonitor", kinds);
            Assert.Contains("PodDisruptionBudget", kinds);
        }
    }

    [Fact]
    public void ProbesPointAtServedPathsOnThePortsServeBinds()
    {
        using var r = new Rendered("k8s", "aws", yaml: "ports: {http: 18080, grpc: 18081, metrics: 18082}\n");
        foreach (var name in new[] { "k8s/base/server-deployment.yaml", "k8s/base/archive-deployment.yaml" })
        {
            var container = Rendered.Containers(r.YamlFile(name)).Single();
            var args = container["args"]!.AsArray().Select(a => Str(a)).ToList();
            var ports = container["ports"]!.AsArray().ToDictionary(p => Str(p!["name"]), p => Str(p!["containerPort"]));
            Assert.Equal(args[args.IndexOf("--http-port") + 1], ports["http"]);
            Assert.Equal("18080", ports["http"]);
            foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
            {
                var get = container[probe]!["httpGet"]!;
                Assert.Contains(Str(get["path"]), new[] { "/v2/health/live", "/v2/health/ready" });
                Assert.Equal("http", Str(get["port"]));
            }
        }
        var server = Rendered.Containers(r.YamlFile("k8s/base/server-deployment.yaml")).Single();
        var serverArgs = server["args"]!.AsArray().Select(a => Str(a)).ToList();
        var serverPorts = server["ports"]!.AsArray().ToDictionary(p => Str(p!["name"]), p => Str(p!["containerPort"]));
        Assert.Equal(serverArgs[serverArgs.IndexOf("--grpc-port") + 1], serverPorts["grpc"]);
        Assert.Equal(serverArgs[serverArgs.IndexOf("--metrics-port") + 1], serverPorts["metrics"]);
        // Workers reach the server's gRPC port through its Service.
        var worker = Rendered.Containers(r.YamlFile("k8s/base/worker-deployment.yaml")).Single();
        var workerArgs = worker["args"]!.AsArray().Select(a => Str(a)).ToList();
        Assert.Equal("grpc://histoscale-server:18081", workerArgs[workerArgs.IndexOf("--server") + 1]);
        var service = r.YamlFile("k8s/base/server-service.yaml");
        Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => Str(p!["port"]) == "18081" && Str(p["targetPort"]) == "grpc");
        // The ServiceMonitor scrapes the port named metrics at /metrics.
        var monitor = r.YamlFile("k8s/base/servicemonitor.yaml");
        Assert.Equal("metrics", Str(monitor["spec"]!["endpoints"]![0]!["port"]));
        Assert.Equal("/metrics", Str(monitor["spec"]!["endpoints"]![0]!["path"]));
    }

    [Fact]
    public void TheServerQueryReferencesMetricsTheServerExports()
    {
        var source = File.ReadAllText(Path.Combine(Rendered.RepoRoot(), "src", "Histoscale.Server", "Metrics", "TritonMetrics.cs"));
        var exported = Regex.Matches(source, "new\\(\"(nv_[a-z_]+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(exported);
        using var r = new Rendered("k8s", "gcp", "l4", yaml: "server: {queueTimeThresholdMs: 250}\nnamespace: path\n");
        var trigger = r.YamlFile("k8s/base/server-scaledobject.yaml")["spec"]!["triggers"]![0]!;
        Assert.Equal("prometheus", Str(trigger["type"]));
        var query = Str(trigger["metadata"]!["query"]);
        var used = Regex.Matches(query, "nv_[a-z_]+").Select(m => m.Value).ToList();
        Assert.Contains("nv_inference_queue_duration_us", used);
        Assert.Contains("nv_inference_request_success", used);
        Assert.All(used, m => Assert.Contains(m, exported));
        // The labels Prometheus' Kubernetes discovery attaches, and a window of at most two minutes.
        Assert.Contains("namespace=\"path\"", query);
        Assert.Contains("service=\"histoscale-server\"", query);
        Assert.All(Regex.Matches(query, "\\[(\\d+)m\\]").Select(m => int.Parse(m.Groups[1].Value)), w => Assert.True(w <= 2));
        Assert.Equal("250000", Str(trigger["metadata"]!["threshold"]));
    }

    [Theory]
    [InlineData("", "redis-streams")]
    [InlineData("queue: amqp://rabbit/vhost\n", "rabbitmq")]
    [InlineData("queue: azqueue://labstore/slides\n", "azure-queue")]
    public void WorkersScaleToZeroOnTheBrokersBacklogWithTheCostingScalerSettings(string yaml, string scaler)
    {
        using var r = new Rendered("k8s", "aws", yaml: yaml + "scaling: {pollingIntervalSeconds: 15, queueTarget: 2}\n");
        var so = r.YamlFile("k8s/base/worker-scaledobject.yaml")["spec"]!;
        Assert.Equal("0", Str(so["minReplicaCount"]));
        Assert.Equal("15", Str(so["pollingInterval"]));
        Assert.Equal(new ScalerSettings().CooldownSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), Str(so["cooldownPeriod"]));
        Assert.Equal(new ScalerSettings().ScaleDownStabilizationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Str(so["advanced"]!["horizontalPodAutoscalerConfig"]!["behavior"]!["scaleDown"]!["stabilizationWindowSeconds"]));
        var trigger = so["triggers"]![0]!;
        Assert.Equal(scaler, Str(trigger["type"]));
        Assert.Contains("2", trigger["metadata"]!.AsObject().Select(kv => Str(kv.Value)));
        Assert.Equal(yaml.Length == 0, r.Files.Any(f => f.Path == "k8s/base/redis-deployment.yaml"));
        if (yaml.Length > 0 && scaler != "redis-streams")
        {
            var auth = r.YamlFile("k8s/base/worker-triggerauthentication.yaml");
            Assert.Equal(Str(trigger["authenticationRef"]!["name"]), Str(auth["metadata"]!["name"]));
        }
    }

    [Fact]
    public void EverySecretComesFromASecretReference()
    {
        using var r = new Rendered("k8s", "azure", yaml: "queue: amqp://rabbit.lab/jobs\narchive: {database: postgres, replicas: 2}\n");
        var objs = r.Files.Where(f => f.Path.StartsWith("k8s/base/", StringComparison.Ordinal) && !f.Path.EndsWith("kustomization.yaml", StringComparison.Ordinal))
            .SelectMany(f => Rendered.Docs(f.Content)).ToList();
        Assert.DoesNotContain(objs, o => Str(o["kind"]) is "Secret" or "ConfigMap");
        var sensitive = new Regex("TOKEN|PASSWORD|SECRET|KEY|_DB$|QUEUE");
        var envs = objs.Where(o => Str(o["kind"]) is "Deployment" or "ScaledJob")
            .SelectMany(Rendered.Containers).SelectMany(c => c["env"]?.AsArray() ?? []).ToList();
        Assert.NotEmpty(envs);
        foreach (var env in envs)
        {
            var name = Str(env!["name"]);
            if (sensitive.IsMatch(name))
            {
                Assert.True(env["value"] is null && env["valueFrom"]?["secretKeyRef"] is not null, $"{name} is not from a secret reference");
            }
        }
        // No credentials anywhere in the text: no user:password@ in a URL.
        Assert.All(r.Files, f => Assert.DoesNotMatch("://[^/\\s:@]+:[^/\\s@]+@", f.Content));
        var archive = Rendered.Containers(r.YamlFile("k8s/base/archive-deployment.yaml")).Single();
        var args = archive["args"]!.AsArray().Select(a => Str(a)).ToList();
        Assert.Equal("$(HISTOSCALE_DB)", args[args.IndexOf("--db") + 1]);
        var auth = r.YamlFile("k8s/base/worker-triggerauthentication.yaml");
        Assert.NotNull(auth["spec"]!["secretTargetRef"]);
    }

    [Fact]
    public void CpuPodsAreNonRootWithReadOnlyRoots()
    {
        using var r = new Rendered("k8s", "gcp");
        foreach (var f in r.Files.Where(f => f.Path.EndsWith("-deployment.yaml", StringComparison.Ordinal)))
        {
            var obj = r.YamlFile(f.Path);
            Assert.Equal("true", Str(Rendered.PodSpec(obj)["securityContext"]!["runAsNonRoot"]));
            Assert.All(Rendered.Containers(obj), c => Assert.Equal("true", Str(c["securityContext"]!["readOnlyRootFilesystem"])));
        }
    }
}
