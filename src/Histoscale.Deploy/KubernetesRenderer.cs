using static Histoscale.Deploy.Emit;

namespace Histoscale.Deploy;

/// <summary>
/// Kubernetes on EKS, AKS or GKE: a kustomize base (server, workers, archive, Redis, KEDA, ServiceMonitor) and the
/// cloud's overlay (workload identity, GPU node selection). One object per file.
/// </summary>
internal static class KubernetesRenderer
{
    private const string Part = "app.kubernetes.io/part-of";
    private const string Component = "app.kubernetes.io/component";
    private const int UserId = 10001;

    public static IReadOnlyList<RenderedFile> Render(RenderContext c)
    {
        var s = c.Spec;
        var objects = new List<(string File, Dictionary<string, object?> Obj)>
        {
            ("namespace.yaml", Obj("v1", "Namespace", s.Namespace, c, null, includeNamespace: false)),
            ("serviceaccount.yaml", Obj("v1", "ServiceAccount", s.Name, c, null)),
            ("server-deployment.yaml", ServerDeployment(c)),
            ("server-service.yaml", Service(c, c.ServerName, "server", [("http", s.Ports.Http), ("grpc", s.Ports.Grpc), ("metrics", s.Ports.Metrics)])),
            ("server-pdb.yaml", Pdb(c)),
            ("server-scaledobject.yaml", ServerScaledObject(c)),
            ("worker-service.yaml", Service(c, c.WorkerName, "worker", [("metrics", s.Ports.WorkerMetrics)], headless: true)),
            ("servicemonitor.yaml", ServiceMonitor(c)),
        };
        objects.AddRange(Workers(c));
        if (s.Archive.Enabled)
        {
            objects.AddRange(Archive(c));
        }
        if (c.Broker.InCluster)
        {
            objects.AddRange(Redis(c));
        }
        if (TriggerAuth(c) is { } auth)
        {
            objects.Add(("worker-triggerauthentication.yaml", auth));
        }

        var files = new List<RenderedFile>();
        foreach (var (file, obj) in objects)
        {
            files.Add(new RenderedFile($"k8s/base/{file}", Yaml(obj)));
        }
        files.Add(new RenderedFile("k8s/base/kustomization.yaml", Yaml(M(
            ("apiVersion", "kustomize.config.k8s.io/v1beta1"),
            ("kind", "Kustomization"),
            ("resources", objects.Select(o => (object?)o.File).ToList()),
            ("labels", L(M(("pairs", M((Part, s.Name))), ("includeSelectors", false))))))));
        files.AddRange(Overlay(c));
        return files;
    }

    private static Dictionary<string, object?> Obj(string apiVersion, string kind, string name, RenderContext c, string? component, object? spec = null, bool includeNamespace = true) => M(
        ("apiVersion", apiVersion),
        ("kind", kind),
        ("metadata", M(("name", name), ("namespace", includeNamespace ? c.Spec.Namespace : null), ("labels", Labels(c, component)))),
        ("spec", spec));

    private static Dictionary<string, object?> Labels(RenderContext c, string? component) => M(
        ("app.kubernetes.io/name", c.Spec.Name),
        (Component, component));

    private static Dictionary<string, object?> Selector(RenderContext c, string component) => M(
        ("app.kubernetes.io/name", c.Spec.Name),
        (Component, component));

    private static string Quantity(double cpu) => S(cpu);

    private static string Memory(double gib) => gib == Math.Floor(gib) ? $"{gib:0}Gi" : $"{Math.Round(gib * 1024):0}Mi";

    private static Dictionary<string, object?> Resources(double cpu, double memGiB, bool gpu) => M(
        ("requests", M(("cpu", Quantity(cpu)), ("memory", Memory(memGiB)), ("nvidia.com/gpu", gpu ? "1" : null))),
        ("limits", M(("memory", Memory(memGiB)), ("nvidia.com/gpu", gpu ? "1" : null))));

    private static Dictionary<string, object?> ContainerSecurity() => M(
        ("allowPrivilegeEscalation", false),
        ("readOnlyRootFilesystem", true),
        ("capabilities", M(("drop", L("ALL")))));

    private static Dictionary<string, object?> PodSecurity() => M(
        ("runAsNonRoot", true),
        ("runAsUser", UserId),
        ("runAsGroup", UserId),
        ("fsGroup", UserId),
        ("seccompProfile", M(("type", "RuntimeDefault"))));

    private static Dictionary<string, object?> HttpProbe(string path, string port, int period, int failures) => M(
        ("httpGet", M(("path", path), ("port", port))),
        ("periodSeconds", period),
        ("failureThreshold", failures));

    /// <summary>A pod template; CPU pods go to arm64 nodes when --arch arm64 (GPU pods stay where the GPU is).</summary>
    private static Dictionary<string, object?> PodTemplate(RenderContext c, string component, Dictionary<string, object?> container, bool cpuPod,
        int grace, string restartPolicy = "Always", List<object?>? volumes = null)
    {
        var tmp = M(("name", "tmp"), ("emptyDir", M(("sizeLimit", "2Gi"))));
        var allVolumes = L(tmp);
        if (volumes is not null)
        {
            allVolumes.AddRange(volumes);
        }
        return M(
            ("metadata", M(("labels", Selector(c, component)))),
            ("spec", M(
                ("serviceAccountName", c.Spec.Name),
                ("restartPolicy", restartPolicy == "Always" ? null : restartPolicy),
                ("terminationGracePeriodSeconds", grace),
                ("securityContext", PodSecurity()),
                ("nodeSelector", cpuPod ? M(("kubernetes.io/os", "linux"), ("kubernetes.io/arch", c.Request.Arch)) : M(("kubernetes.io/os", "linux"))),
                ("containers", L(container)),
                ("volumes", allVolumes))));
    }

    private static List<object?> Mounts(params (string Name, string Path)[] extra)
    {
        var list = L(M(("name", "tmp"), ("mountPath", "/tmp")));
        list.AddRange(extra.Select(e => (object?)M(("name", e.Name), ("mountPath", e.Path))));
        return list;
    }

    private static Dictionary<string, object?> ServerDeployment(RenderContext c)
    {
        var s = c.Spec;
        var container = M(
            ("name", "server"),
            ("image", c.ServerImage),
            ("args", ServeArgs(c).Cast<object?>().ToList()),
            ("ports", L(
                M(("name", "http"), ("containerPort", s.Ports.Http)),
                M(("name", "grpc"), ("containerPort", s.Ports.Grpc)),
                M(("name", "metrics"), ("containerPort", s.Ports.Metrics)))),
            ("startupProbe", HttpProbe("/v2/health/ready", "http", 5, 60)),
            ("livenessProbe", HttpProbe("/v2/health/live", "http", 10, 3)),
            ("readinessProbe", HttpProbe("/v2/health/ready", "http", 5, 2)),
            ("resources", Resources(s.Server.Cpu, s.Server.MemoryGiB, c.Gpu)),
            ("securityContext", ContainerSecurity()),
            ("volumeMounts", Mounts()));
        return Obj("apps/v1", "Deployment", c.ServerName, c, "server", M(
            ("replicas", s.Server.MinReplicas),
            ("selector", M(("matchLabels", Selector(c, "server")))),
            ("strategy", M(("type", "RollingUpdate"), ("rollingUpdate", M(("maxUnavailable", 0), ("maxSurge", 1))))),
            ("template", PodTemplate(c, "server", container, cpuPod: !c.Gpu, grace: s.Server.ExitTimeoutSeconds + 15))));
    }

    /// <summary><c>histoscale serve</c>'s command line for the inference server (the flags of src/Histoscale.Cli's ServeCommand).</summary>
    internal static List<string> ServeArgs(RenderContext c)
    {
        var p = c.Spec.Ports;
        return
        [
            "serve", "--model-repository", c.Spec.ModelRepository, "--host", "0.0.0.0",
            "--http-port", p.Http.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--grpc-port", p.Grpc.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--metrics-port", p.Metrics.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--device", c.Gpu ? "cuda" : "cpu",
            "--exit-timeout-secs", c.Spec.Server.ExitTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
    }

    /// <summary><c>histoscale worker</c>'s command line (issue 12's flags); the queue URL comes from the environment.</summary>
    internal static List<string> WorkerArgs(RenderContext c, string serverHost, bool job)
    {
        var w = c.Spec.Workers;
        var args = new List<string>
        {
            "worker", "--queue", "$(HISTOSCALE_QUEUE)", "--server", c.ServerGrpcUrl(serverHost),
            "--slides-in-flight", w.SlidesInFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--metrics-port", c.Spec.Ports.WorkerMetrics.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--grace", w.GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (job)
        {
            args.AddRange(["--idle-exit", w.IdleExitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
        return args;
    }

    /// <summary>The queue URL: a secret for brokers whose URL carries credentials (amqp), a literal otherwise.</summary>
    private static Dictionary<string, object?> QueueEnv(RenderContext c) => c.Broker.Kind == "amqp"
        ? M(("name", "HISTOSCALE_QUEUE"), ("valueFrom", M(("secretKeyRef", M(("name", $"{c.Spec.Name}-broker"), ("key", "url"))))))
        : M(("name", "HISTOSCALE_QUEUE"), ("value", c.Broker.Url));

    private static Dictionary<string, object?> Service(RenderContext c, string name, string component, (string Name, int Port)[] ports, bool headless = false) =>
        Obj("v1", "Service", name, c, component, M(
            ("clusterIP", headless ? "None" : null),
            ("selector", Selector(c, component)),
            ("ports", ports.Select(p => (object?)M(("name", p.Name), ("port", p.Port), ("targetPort", p.Name), ("appProtocol", p.Name == "grpc" ? "kubernetes.io/h2c" : null))).ToList())));

    private static Dictionary<string, object?> Pdb(RenderContext c) =>
        Obj("policy/v1", "PodDisruptionBudget", c.ServerName, c, "server", M(
            ("maxUnavailable", 1),
            ("selector", M(("matchLabels", Selector(c, "server"))))));

    /// <summary>
    /// NVIDIA's recipe: the average queue time per request over the last minute, in microseconds, over the server
    /// pods' Triton metrics as Prometheus labels them (namespace, service).
    /// </summary>
    internal static string ServerQueueTimeQuery(RenderContext c)
    {
        var sel = $"namespace=\"{c.Spec.Namespace}\",service=\"{c.ServerName}\"";
        return $"sum(rate(nv_inference_queue_duration_us{{{sel}}}[1m])) / clamp_min(sum(rate(nv_inference_request_success{{{sel}}}[1m])), 0.001)";
    }

    private static Dictionary<string, object?> Behavior(RenderContext c) => M(
        ("scaleDown", M(("stabilizationWindowSeconds", (int)c.Scaler.ScaleDownStabilizationSeconds))),
        ("scaleUp", M(
            ("stabilizationWindowSeconds", (int)c.Scaler.ScaleUpStabilizationSeconds),
            ("selectPolicy", "Max"),
            ("policies", L(
                M(("type", "Pods"), ("value", c.Scaler.ScaleUpPods), ("periodSeconds", 15)),
                M(("type", "Percent"), ("value", (int)c.Scaler.ScaleUpPercent), ("periodSeconds", 15)))))));

    private static Dictionary<string, object?> ServerScaledObject(RenderContext c) =>
        Obj("keda.sh/v1alpha1", "ScaledObject", c.ServerName, c, "server", M(
            ("scaleTargetRef", M(("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", c.ServerName))),
            ("pollingInterval", (int)c.Scaler.PollingIntervalSeconds),
            ("cooldownPeriod", (int)c.Scaler.CooldownSeconds),
            ("minReplicaCount", c.Spec.Server.MinReplicas),
            ("maxReplicaCount", c.Spec.Server.MaxReplicas),
            ("advanced", M(("horizontalPodAutoscalerConfig", M(("behavior", Behavior(c)))))),
            ("triggers", L(M(
                ("type", "prometheus"),
                ("metricType", "Value"),
                ("metadata", M(
                    ("serverAddress", c.Spec.PrometheusUrl),
                    ("query", ServerQueueTimeQuery(c)),
                    ("threshold", S(c.Spec.Server.QueueTimeThresholdMs * 1000)),
                    ("ignoreNullValues", "true"))))))));

    /// <summary>
    /// KEDA's scaler for the broker's backlog (redis-streams, rabbitmq, azure-queue, aws-sqs-queue, gcp-pubsub). What it counts depends on what
    /// it scales. A Deployment (ScaledObject) must count unfinished work — queued and in progress — or KEDA scales
    /// to zero while the last slides are still running (the HPA would remove busy pods): Redis, the stream's length
    /// (the worker deletes an entry when it settles it, so XLEN = unread + pending); RabbitMQ, the management API's
    /// message count (ready + unacknowledged, protocol http); Azure Queue, every message, invisible (taken) ones
    /// included. No activation threshold there: one slide in progress keeps one worker. A ScaledJob (one slide per
    /// Job, the Jobs run to completion whatever the metric does) counts only what is waiting: the consumer group's
    /// lag, the queue's ready messages, the visible messages.
    /// </summary>
    internal static Dictionary<string, object?> WorkerTrigger(RenderContext c)
    {
        var b = c.Broker;
        var job = c.Spec.Workers.Mode == "job";
        var target = S(c.Scaler.QueueTarget);
        var activation = S(c.Scaler.ActivationQueue);
        var authRef = M(("name", $"{c.WorkerName}-broker"));
        return (b.Kind, job) switch
        {
            ("redis", true) => M(("type", "redis-streams"), ("metadata", M(
                ("address", b.Host), ("stream", b.QueueName), ("consumerGroup", c.Spec.ConsumerGroup),
                ("lagCount", target), ("activationLagCount", activation)))),
            // No consumerGroup: KEDA then reads XLEN.
            ("redis", false) => M(("type", "redis-streams"), ("metadata", M(
                ("address", b.Host), ("stream", b.QueueName), ("streamLength", target)))),
            ("amqp", true) => M(("type", "rabbitmq"), ("authenticationRef", authRef), ("metadata", M(
                ("protocol", "amqp"), ("queueName", b.QueueName), ("mode", "QueueLength"), ("value", target), ("activationValue", activation)))),
            ("amqp", false) => M(("type", "rabbitmq"), ("authenticationRef", authRef), ("metadata", M(
                ("protocol", "http"), ("queueName", b.QueueName), ("mode", "MessageCount"), ("value", target)))),
            // SQS: KEDA counts visible + not visible (taken) messages unless scaleOnInFlight is false.
            ("sqs", true) => M(("type", "aws-sqs-queue"), ("authenticationRef", authRef), ("metadata", M(
                ("queueURL", SqsQueueForKeda(b)), ("awsRegion", b.Host), ("queueLength", target), ("activationQueueLength", activation),
                ("scaleOnInFlight", "false")))),
            ("sqs", false) => M(("type", "aws-sqs-queue"), ("authenticationRef", authRef), ("metadata", M(
                ("queueURL", SqsQueueForKeda(b)), ("awsRegion", b.Host), ("queueLength", target), ("scaleOnInFlight", "true")))),
            // Pub/Sub: Cloud Monitoring's num_undelivered_messages, outstanding (taken) messages included; there is no
            // metric of the waiting ones only, so a ScaledJob sees the same count.
            ("gcppubsub", true) => M(("type", "gcp-pubsub"), ("authenticationRef", authRef), ("metadata", M(
                ("subscriptionName", $"projects/{b.Host}/subscriptions/{b.QueueName}"), ("mode", "SubscriptionSize"), ("value", target), ("activationValue", activation)))),
            ("gcppubsub", false) => M(("type", "gcp-pubsub"), ("authenticationRef", authRef), ("metadata", M(
                ("subscriptionName", $"projects/{b.Host}/subscriptions/{b.QueueName}"), ("mode", "SubscriptionSize"), ("value", target)))),
            ("azqueue", true) => M(("type", "azure-queue"), ("authenticationRef", authRef), ("metadata", M(
                ("accountName", b.Account), ("queueName", b.QueueName), ("queueLength", target), ("activationQueueLength", activation),
                ("queueLengthStrategy", "visibleonly")))),
            _ => M(("type", "azure-queue"), ("authenticationRef", authRef), ("metadata", M(
                ("accountName", b.Account), ("queueName", b.QueueName), ("queueLength", target), ("queueLengthStrategy", "all")))),
        };
    }

    /// <summary>The https URL when deploy.yaml gives it, else the queue's name (KEDA resolves a plain name in the region).</summary>
    private static string SqsQueueForKeda(Broker b) => b.Account is null ? b.QueueName : b.Url;

    /// <summary>The broker secret's key KEDA's RabbitMQ scaler reads: the AMQP URL (ScaledJob) or the management API's URL (ScaledObject).</summary>
    internal static string RabbitMqScalerKey(RenderContext c) => c.Spec.Workers.Mode == "job" ? "url" : "management-url";

    private static Dictionary<string, object?>? TriggerAuth(RenderContext c)
    {
        var spec = c.Broker.Kind switch
        {
            "amqp" => M(("secretTargetRef", L(M(("parameter", "host"), ("name", $"{c.Spec.Name}-broker"), ("key", RabbitMqScalerKey(c)))))),
            "azqueue" => M(("podIdentity", M(("provider", "azure-workload"), ("identityId", c.Spec.Azure.IdentityClientId)))),
            // KEDA assumes the workers' IRSA role (the ServiceAccount's eks.amazonaws.com/role-arn), which reads the queue.
            "sqs" => M(("podIdentity", M(("provider", "aws"), ("identityOwner", "workload")))),
            // KEDA's own GKE Workload Identity (its service account needs roles/monitoring.viewer on the project).
            "gcppubsub" => M(("podIdentity", M(("provider", "gcp")))),
            _ => null,
        };
        return spec is null ? null : Obj("keda.sh/v1alpha1", "TriggerAuthentication", $"{c.WorkerName}-broker", c, "worker", spec);
    }

    private static IEnumerable<(string, Dictionary<string, object?>)> Workers(RenderContext c)
    {
        var s = c.Spec;
        var job = s.Workers.Mode == "job";
        var container = M(
            ("name", "worker"),
            ("image", s.Image),
            ("args", WorkerArgs(c, c.ServerName, job).Cast<object?>().ToList()),
            ("env", L(QueueEnv(c), M(("name", "HISTOSCALE_OUTPUT"), ("value", c.Output)))),
            ("ports", L(M(("name", "metrics"), ("containerPort", s.Ports.WorkerMetrics)))),
            ("resources", Resources(s.Workers.Cpu, s.Workers.MemoryGiB, gpu: false)),
            ("securityContext", ContainerSecurity()),
            ("volumeMounts", Mounts()));
        var grace = s.Workers.GraceSeconds + 30;
        if (job)
        {
            yield return ("worker-scaledjob.yaml", Obj("keda.sh/v1alpha1", "ScaledJob", c.WorkerName, c, "worker", M(
                ("jobTargetRef", M(
                    ("parallelism", 1),
                    ("completions", 1),
                    ("backoffLimit", 2),
                    ("template", PodTemplate(c, "worker", container, cpuPod: true, grace, restartPolicy: "Never")))),
                ("pollingInterval", (int)c.Scaler.PollingIntervalSeconds),
                ("minReplicaCount", s.Workers.MinReplicas),
                ("maxReplicaCount", s.Workers.MaxReplicas),
                ("successfulJobsHistoryLimit", 5),
                ("failedJobsHistoryLimit", 5),
                ("scalingStrategy", M(("strategy", "accurate"))),
                ("triggers", L(WorkerTrigger(c))))));
            yield break;
        }
        yield return ("worker-deployment.yaml", Obj("apps/v1", "Deployment", c.WorkerName, c, "worker", M(
            ("replicas", s.Workers.MinReplicas),
            ("selector", M(("matchLabels", Selector(c, "worker")))),
            ("template", PodTemplate(c, "worker", container, cpuPod: true, grace)))));
        yield return ("worker-scaledobject.yaml", Obj("keda.sh/v1alpha1", "ScaledObject", c.WorkerName, c, "worker", M(
            ("scaleTargetRef", M(("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", c.WorkerName))),
            ("pollingInterval", (int)c.Scaler.PollingIntervalSeconds),
            ("cooldownPeriod", (int)c.Scaler.CooldownSeconds),
            ("minReplicaCount", s.Workers.MinReplicas),
            ("maxReplicaCount", s.Workers.MaxReplicas),
            ("advanced", M(("horizontalPodAutoscalerConfig", M(("behavior", Behavior(c)))))),
            ("triggers", L(WorkerTrigger(c))))));
    }

    /// <summary><c>histoscale serve --slides</c> (issue 11): SQLite on a volume, or PostgreSQL from a secret.</summary>
    internal static List<string> ArchiveArgs(RenderContext c, string dbArgument) =>
    [
        "serve", "--slides", c.Slides, "--results", c.Output, "--db", dbArgument, "--host", "0.0.0.0",
        "--http-port", c.Spec.Ports.Http.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--grpc-port", c.Spec.Ports.Grpc.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--metrics-port", c.Spec.Ports.Metrics.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    private static IEnumerable<(string, Dictionary<string, object?>)> Archive(RenderContext c)
    {
        var s = c.Spec;
        var sqlite = s.Archive.Database == "sqlite";
        var env = L(M(("name", "HISTOSCALE_ADMIN_TOKEN"), ("valueFrom", M(("secretKeyRef", M(("name", $"{s.Name}-archive"), ("key", "admin-token")))))));
        if (!sqlite)
        {
            env.Add(M(("name", "HISTOSCALE_DB"), ("valueFrom", M(("secretKeyRef", M(("name", $"{s.Name}-archive"), ("key", "database-url")))))));
        }
        var container = M(
            ("name", "archive"),
            ("image", s.Image),
            ("args", ArchiveArgs(c, sqlite ? "/data/archive.sqlite" : "$(HISTOSCALE_DB)").Cast<object?>().ToList()),
            ("env", env),
            ("ports", L(M(("name", "http"), ("containerPort", s.Ports.Http)))),
            ("startupProbe", HttpProbe("/v2/health/live", "http", 5, 60)),
            ("livenessProbe", HttpProbe("/v2/health/live", "http", 10, 3)),
            ("readinessProbe", HttpProbe("/v2/health/ready", "http", 5, 2)),
            ("resources", Resources(s.Archive.Cpu, s.Archive.MemoryGiB, gpu: false)),
            ("securityContext", ContainerSecurity()),
            ("volumeMounts", sqlite ? Mounts(("data", "/data")) : Mounts()));
        var volumes = sqlite ? L(M(("name", "data"), ("persistentVolumeClaim", M(("claimName", c.ArchiveName))))) : null;
        yield return ("archive-deployment.yaml", Obj("apps/v1", "Deployment", c.ArchiveName, c, "archive", M(
            ("replicas", s.Archive.Replicas),
            ("selector", M(("matchLabels", Selector(c, "archive")))),
            ("strategy", M(("type", sqlite ? "Recreate" : "RollingUpdate"))),
            ("template", PodTemplate(c, "archive", container, cpuPod: true, grace: 30, volumes: volumes)))));
        yield return ("archive-service.yaml", Service(c, c.ArchiveName, "archive", [("http", s.Ports.Http)]));
        if (sqlite)
        {
            yield return ("archive-pvc.yaml", Volume(c, c.ArchiveName, "archive", s.Archive.VolumeSize));
        }
    }

    private static Dictionary<string, object?> Volume(RenderContext c, string name, string component, string size) =>
        Obj("v1", "PersistentVolumeClaim", name, c, component, M(
            ("accessModes", L("ReadWriteOnce")),
            ("resources", M(("requests", M(("storage", size)))))));

    private static IEnumerable<(string, Dictionary<string, object?>)> Redis(RenderContext c)
    {
        var container = M(
            ("name", "redis"),
            ("image", "redis:7.4-alpine"),
            ("args", L("--appendonly", "yes", "--dir", "/data")),
            ("ports", L(M(("name", "redis"), ("containerPort", 6379)))),
            ("livenessProbe", M(("tcpSocket", M(("port", "redis"))), ("periodSeconds", 10))),
            ("readinessProbe", M(("exec", M(("command", L("redis-cli", "ping")))), ("periodSeconds", 5))),
            ("resources", Resources(0.5, 1, gpu: false)),
            ("securityContext", ContainerSecurity()),
            ("volumeMounts", Mounts(("data", "/data"))));
        var template = PodTemplate(c, "redis", container, cpuPod: false, grace: 30,
            volumes: L(M(("name", "data"), ("persistentVolumeClaim", M(("claimName", c.RedisName))))));
        ((Dictionary<string, object?>)template["spec"]!).Remove("serviceAccountName");
        yield return ("redis-deployment.yaml", Obj("apps/v1", "Deployment", c.RedisName, c, "redis", M(
            ("replicas", 1),
            ("strategy", M(("type", "Recreate"))),
            ("selector", M(("matchLabels", Selector(c, "redis")))),
            ("template", template))));
        yield return ("redis-service.yaml", Service(c, c.RedisName, "redis", [("redis", 6379)]));
        yield return ("redis-pvc.yaml", Volume(c, c.RedisName, "redis", "5Gi"));
    }

    private static Dictionary<string, object?> ServiceMonitor(RenderContext c) =>
        Obj("monitoring.coreos.com/v1", "ServiceMonitor", c.Spec.Name, c, null, M(
            ("selector", M(("matchExpressions", L(M(("key", Component), ("operator", "In"), ("values", L("server", "worker"))))))),
            ("namespaceSelector", M(("matchNames", L(c.Spec.Namespace)))),
            ("endpoints", L(M(("port", "metrics"), ("path", "/metrics"), ("interval", "15s"))))));

    /// <summary>The cloud's overlay: workload identity on the service account (and pods), GPU node selection.</summary>
    private static IEnumerable<RenderedFile> Overlay(RenderContext c)
    {
        var s = c.Spec;
        var dir = $"k8s/overlays/{c.Cloud}";
        var patches = new List<string>();
        var saAnnotations = c.Cloud switch
        {
            "aws" => M(("eks.amazonaws.com/role-arn", $"arn:aws:iam::{s.Aws.AccountId}:role/{s.Aws.RoleName}")),
            "azure" => M(("azure.workload.identity/client-id", s.Azure.IdentityClientId)),
            _ => M(("iam.gke.io/gcp-service-account", s.Gcp.ServiceAccount.Length > 0 ? s.Gcp.ServiceAccount : $"{s.Name}@{s.Gcp.Project}.iam.gserviceaccount.com")),
        };
        yield return new RenderedFile($"{dir}/serviceaccount-identity.yaml", Yaml(M(
            ("apiVersion", "v1"), ("kind", "ServiceAccount"),
            ("metadata", M(("name", s.Name), ("namespace", s.Namespace), ("annotations", saAnnotations))))));
        patches.Add("serviceaccount-identity.yaml");

        if (c.Cloud == "azure")
        {
            // Azure workload identity injects the token only into pods labelled for it.
            var label = M(("metadata", M(("labels", M(("azure.workload.identity/use", "true"))))));
            var targets = new List<(string Kind, string Name, string Api, bool Job)> { ("Deployment", c.ServerName, "apps/v1", false) };
            targets.Add(s.Workers.Mode == "job" ? ("ScaledJob", c.WorkerName, "keda.sh/v1alpha1", true) : ("Deployment", c.WorkerName, "apps/v1", false));
            if (s.Archive.Enabled)
            {
                targets.Add(("Deployment", c.ArchiveName, "apps/v1", false));
            }
            foreach (var t in targets)
            {
                var spec = t.Job ? M(("jobTargetRef", M(("template", label)))) : M(("template", label));
                var file = $"{t.Name}-workload-identity.yaml";
                yield return new RenderedFile($"{dir}/{file}", Yaml(M(
                    ("apiVersion", t.Api), ("kind", t.Kind), ("metadata", M(("name", t.Name), ("namespace", s.Namespace))), ("spec", spec))));
                patches.Add(file);
            }
        }

        if (c.Gpu)
        {
            var value = Catalog.GpuNodeValue(c.Cloud, c.Request.Gpu)!;
            var key = c.Cloud == "gcp" ? "cloud.google.com/gke-accelerator" : "node.kubernetes.io/instance-type";
            var tolerations = L(M(("key", "nvidia.com/gpu"), ("operator", "Exists"), ("effect", "NoSchedule")));
            if (c.Cloud == "azure")
            {
                tolerations.Add(M(("key", "sku"), ("operator", "Equal"), ("value", "gpu"), ("effect", "NoSchedule")));
            }
            yield return new RenderedFile($"{dir}/server-gpu.yaml", Yaml(M(
                ("apiVersion", "apps/v1"), ("kind", "Deployment"),
                ("metadata", M(("name", c.ServerName), ("namespace", s.Namespace))),
                ("spec", M(("template", M(("spec", M(
                    ("nodeSelector", M((key, value))),
                    ("tolerations", tolerations))))))))));
            patches.Add("server-gpu.yaml");
        }

        yield return new RenderedFile($"{dir}/kustomization.yaml", Yaml(M(
            ("apiVersion", "kustomize.config.k8s.io/v1beta1"),
            ("kind", "Kustomization"),
            ("resources", L("../../base")),
            ("patches", patches.Select(p => (object?)M(("path", p))).ToList()))));
    }
}
