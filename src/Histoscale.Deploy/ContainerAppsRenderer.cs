using static Histoscale.Deploy.Emit;

namespace Histoscale.Deploy;

/// <summary>
/// Azure Container Apps: the server and the archive as container apps, the workers as an event-driven Container
/// Apps Job scaled by KEDA's azure-queue scaler, a user-assigned managed identity for Blob and Queue, and a
/// serverless GPU workload profile for --gpu. Each file is the input of <c>az containerapp create --yaml</c> or
/// <c>az containerapp job create --yaml</c>.
/// </summary>
internal static class ContainerAppsRenderer
{
    public static IReadOnlyList<RenderedFile> Render(RenderContext c)
    {
        var s = c.Spec;
        var files = new List<RenderedFile>
        {
            new("containerapps/server.yaml", Yaml(ServerApp(c))),
            new("containerapps/worker-job.yaml", Yaml(WorkerJob(c))),
        };
        if (s.Archive.Enabled)
        {
            files.Add(new("containerapps/archive.yaml", Yaml(ArchiveApp(c))));
        }
        return files;
    }

    private static string IdentityId(RenderContext c) =>
        $"/subscriptions/{c.Spec.Azure.SubscriptionId}/resourceGroups/{c.Spec.Azure.ResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{c.Spec.Azure.IdentityName}";

    private static string EnvironmentId(RenderContext c) =>
        $"/subscriptions/{c.Spec.Azure.SubscriptionId}/resourceGroups/{c.Spec.Azure.ResourceGroup}/providers/Microsoft.App/managedEnvironments/{c.Spec.Azure.Environment}";

    /// <summary>The workload profile name docs/deploy.md creates for --gpu (<c>az containerapp env workload-profile add</c>).</summary>
    internal static string GpuProfileName(string gpu) => $"gpu-{gpu}";

    private static Dictionary<string, object?> Identity(RenderContext c) => M(
        ("type", "UserAssigned"),
        ("userAssignedIdentities", M((IdentityId(c), M()))));

    private static List<object?> Env(RenderContext c, params (string Name, string Value)[] extra)
    {
        // Azure SDKs pick the user-assigned identity by its client id (DefaultAzureCredential).
        var env = L(M(("name", "AZURE_CLIENT_ID"), ("value", c.Spec.Azure.IdentityClientId)));
        env.AddRange(extra.Select(e => (object?)M(("name", e.Name), ("value", e.Value))));
        return env;
    }

    private static Dictionary<string, object?> Resources(double cpu, double memGiB) => M(
        ("cpu", cpu),
        ("memory", memGiB == Math.Floor(memGiB) ? $"{memGiB:0}Gi" : $"{S(memGiB)}Gi"));

    private static List<object?> Probes(RenderContext c, string readyPath) => L(
        M(("type", "Startup"), ("httpGet", M(("path", readyPath), ("port", c.Spec.Ports.Http))), ("periodSeconds", 5), ("failureThreshold", 60)),
        M(("type", "Liveness"), ("httpGet", M(("path", "/v2/health/live"), ("port", c.Spec.Ports.Http))), ("periodSeconds", 10), ("failureThreshold", 3)),
        M(("type", "Readiness"), ("httpGet", M(("path", readyPath), ("port", c.Spec.Ports.Http))), ("periodSeconds", 5), ("failureThreshold", 2)));

    private static Dictionary<string, object?> ServerApp(RenderContext c)
    {
        var s = c.Spec;
        var (cpu, mem) = c.Gpu ? (s.Server.Cpu, s.Server.MemoryGiB) : (s.Server.Cpu, s.Server.MemoryGiB);
        return M(
            ("name", c.ServerName),
            ("type", "Microsoft.App/containerApps"),
            ("location", s.Azure.Location),
            ("identity", Identity(c)),
            ("properties", M(
                ("environmentId", EnvironmentId(c)),
                ("workloadProfileName", c.Gpu ? GpuProfileName(c.Request.Gpu) : "Consumption"),
                ("configuration", M(
                    ("activeRevisionsMode", "Single"),
                    ("ingress", M(
                        ("external", false),
                        ("targetPort", s.Ports.Http),
                        ("transport", "http"),
                        ("additionalPortMappings", L(
                            M(("external", false), ("targetPort", s.Ports.Grpc)),
                            M(("external", false), ("targetPort", s.Ports.Metrics)))))))),
                ("template", M(
                    ("terminationGracePeriodSeconds", s.Server.ExitTimeoutSeconds + 15),
                    ("containers", L(M(
                        ("name", "server"),
                        ("image", c.ServerImage),
                        ("args", KubernetesRenderer.ServeArgs(c).Cast<object?>().ToList()),
                        ("env", Env(c)),
                        ("resources", Resources(cpu, mem)),
                        ("probes", Probes(c, "/v2/health/ready"))))),
                    ("scale", M(
                        ("minReplicas", s.Server.MinReplicas),
                        ("maxReplicas", s.Server.MaxReplicas),
                        ("pollingInterval", (int)c.Scaler.PollingIntervalSeconds),
                        ("cooldownPeriod", (int)c.Scaler.CooldownSeconds),
                        // Container Apps runs no Prometheus: the servers scale on concurrent HTTP requests.
                        ("rules", L(M(("name", "http-concurrency"), ("http", M(("metadata", M(("concurrentRequests", "20")))))))))))))));
    }

    /// <summary>KEDA's azure-queue scaler, authenticated with the managed identity (no connection string).</summary>
    internal static Dictionary<string, object?> QueueRule(RenderContext c) => M(
        ("name", "slide-queue"),
        ("type", "azure-queue"),
        ("identity", IdentityId(c)),
        ("metadata", M(
            ("accountName", c.Broker.Account),
            ("queueName", c.Broker.QueueName),
            ("queueLength", S(c.Scaler.QueueTarget)),
            ("activationQueueLength", S(c.Scaler.ActivationQueue)))));

    private static Dictionary<string, object?> WorkerJob(RenderContext c)
    {
        var s = c.Spec;
        var args = KubernetesRenderer.WorkerArgs(c, c.ServerName, job: true);
        args[args.IndexOf("$(HISTOSCALE_QUEUE)")] = c.Broker.Url;
        // A job's template has no grace setting: Container Apps kills a replica 30 s after SIGTERM, so a stopped worker
        // hands its slide back with the checkpoint rather than finishing it (a job replica normally ends by --idle-exit).
        var grace = Math.Min(s.Workers.GraceSeconds, 25);
        args[args.IndexOf("--grace") + 1] = grace.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Inside the environment apps reach each other by name; the gRPC port is an additional port mapping.
        return M(
            ("name", c.WorkerName),
            ("type", "Microsoft.App/jobs"),
            ("location", s.Azure.Location),
            ("identity", Identity(c)),
            ("properties", M(
                ("environmentId", EnvironmentId(c)),
                ("workloadProfileName", "Consumption"),
                ("configuration", M(
                    ("triggerType", "Event"),
                    ("replicaTimeout", s.Workers.GraceSeconds + 3600),
                    ("replicaRetryLimit", 2),
                    ("eventTriggerConfig", M(
                        ("parallelism", 1),
                        ("replicaCompletionCount", 1),
                        ("scale", M(
                            ("minExecutions", s.Workers.MinReplicas),
                            ("maxExecutions", s.Workers.MaxReplicas),
                            ("pollingInterval", (int)c.Scaler.PollingIntervalSeconds),
                            ("rules", L(QueueRule(c))))))))),
                ("template", M(
                    ("containers", L(M(
                        ("name", "worker"),
                        ("image", s.Image),
                        ("args", args.Cast<object?>().ToList()),
                        ("env", Env(c, ("HISTOSCALE_OUTPUT", c.Output))),
                        ("resources", Resources(s.Workers.Cpu, s.Workers.MemoryGiB))))))))));
    }

    private static Dictionary<string, object?> ArchiveApp(RenderContext c)
    {
        var s = c.Spec;
        var sqlite = s.Archive.Database == "sqlite";
        var secrets = L(M(("name", "admin-token"), ("keyVaultUrl", $"https://{s.Name}-kv.vault.azure.net/secrets/archive-admin-token"), ("identity", IdentityId(c))));
        var env = Env(c);
        env.Add(M(("name", "HISTOSCALE_ADMIN_TOKEN"), ("secretRef", "admin-token")));
        if (!sqlite)
        {
            secrets.Add(M(("name", "database-url"), ("keyVaultUrl", $"https://{s.Name}-kv.vault.azure.net/secrets/archive-database-url"), ("identity", IdentityId(c))));
            env.Add(M(("name", "HISTOSCALE_DB"), ("secretRef", "database-url")));
        }
        var args = KubernetesRenderer.ArchiveArgs(c, sqlite ? "/data/archive.sqlite" : "$HISTOSCALE_DB");
        var container = M(
            ("name", "archive"),
            ("image", s.Image),
            ("command", sqlite ? null : L("sh", "-c")),
            ("args", sqlite ? args.Cast<object?>().ToList() : L("exec histoscale " + string.Join(' ', args.Select(a => a.StartsWith('$') ? $"\"{a}\"" : a)))),
            ("env", env),
            ("resources", Resources(s.Archive.Cpu, s.Archive.MemoryGiB)),
            ("probes", Probes(c, "/v2/health/ready")),
            ("volumeMounts", sqlite ? L(M(("volumeName", "data"), ("mountPath", "/data"))) : null));
        return M(
            ("name", c.ArchiveName),
            ("type", "Microsoft.App/containerApps"),
            ("location", s.Azure.Location),
            ("identity", Identity(c)),
            ("properties", M(
                ("environmentId", EnvironmentId(c)),
                ("workloadProfileName", "Consumption"),
                ("configuration", M(
                    ("activeRevisionsMode", "Single"),
                    ("secrets", secrets),
                    ("ingress", M(("external", true), ("targetPort", s.Ports.Http), ("transport", "http"))))),
                ("template", M(
                    ("containers", L(container)),
                    ("volumes", sqlite ? L(M(("name", "data"), ("storageType", "AzureFile"), ("storageName", $"{s.Name}-archive"))) : null),
                    ("scale", M(
                        ("minReplicas", 1),
                        ("maxReplicas", s.Archive.Replicas))))))));
    }
}
