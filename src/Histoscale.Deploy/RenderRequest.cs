namespace Histoscale.Deploy;

/// <summary>What to render: the engine, the cloud, the accelerator and the CPU architecture (the CLI's flags).</summary>
public sealed record RenderRequest
{
    /// <summary><c>k8s</c> (kustomize base + overlay, KEDA), <c>ecs</c> (Fargate) or <c>containerapps</c> (Azure Container Apps).</summary>
    public required string Target { get; init; }

    /// <summary><c>aws</c>, <c>azure</c> or <c>gcp</c>.</summary>
    public required string Cloud { get; init; }

    /// <summary><c>none</c>, <c>t4</c>, <c>l4</c>, <c>a10g</c>, <c>a100</c> or <c>h100</c>: the inference servers' accelerator.</summary>
    public string Gpu { get; init; } = "none";

    /// <summary><c>amd64</c> or <c>arm64</c>: the CPU architecture of the CPU workloads (workers, archive, CPU servers).</summary>
    public string Arch { get; init; } = "amd64";
}
