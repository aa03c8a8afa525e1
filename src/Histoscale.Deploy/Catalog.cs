namespace Histoscale.Deploy;

/// <summary>Which accelerators each cloud and engine offers, and the node labels that select them.</summary>
internal static class Catalog
{
    public static readonly string[] Targets = ["k8s", "ecs", "containerapps"];
    public static readonly string[] Clouds = ["aws", "azure", "gcp"];
    public static readonly string[] Gpus = ["none", "t4", "l4", "a10g", "a100", "h100"];
    public static readonly string[] Archs = ["amd64", "arm64"];

    /// <summary>EKS/AKS: the well-known <c>node.kubernetes.io/instance-type</c> of a one-GPU node; GKE: <c>cloud.google.com/gke-accelerator</c>.</summary>
    public static string? GpuNodeValue(string cloud, string gpu) => (cloud, gpu) switch
    {
        ("aws", "t4") => "g4dn.xlarge",
        ("aws", "l4") => "g6.xlarge",
        ("aws", "a10g") => "g5.xlarge",
        ("aws", "a100") => "p4d.24xlarge",
        ("aws", "h100") => "p5.48xlarge",
        ("azure", "t4") => "Standard_NC4as_T4_v3",
        ("azure", "a100") => "Standard_NC24ads_A100_v4",
        ("azure", "h100") => "Standard_NC40ads_H100_v5",
        ("gcp", "t4") => "nvidia-tesla-t4",
        ("gcp", "l4") => "nvidia-l4",
        ("gcp", "a100") => "nvidia-tesla-a100",
        ("gcp", "h100") => "nvidia-h100-80gb",
        _ => null,
    };

    /// <summary>Azure Container Apps serverless GPU workload profile types.</summary>
    public static string? ContainerAppsGpuProfile(string gpu) => gpu switch
    {
        "t4" => "Consumption-GPU-NC8as-T4",
        "a100" => "Consumption-GPU-NC24-A100",
        _ => null,
    };

    /// <summary>Fargate's CPU units (1024 = 1 vCPU) and the memory sizes (MiB) each allows.</summary>
    public static IEnumerable<int> FargateMemory(int cpuUnits) => cpuUnits switch
    {
        256 => [512, 1024, 2048],
        512 => Steps(1024, 4096, 1024),
        1024 => Steps(2048, 8192, 1024),
        2048 => Steps(4096, 16384, 1024),
        4096 => Steps(8192, 30720, 1024),
        8192 => Steps(16384, 61440, 4096),
        16384 => Steps(32768, 122880, 8192),
        _ => [],
    };

    /// <summary>Container Apps (consumption): 0.25..4 vCPU in steps of 0.25, memory twice the vCPUs in GiB.</summary>
    public static bool ValidContainerAppsSize(double cpu, double memoryGiB) =>
        cpu is >= 0.25 and <= 4 && Math.Abs(cpu * 4 - Math.Round(cpu * 4)) < 1e-9 && Math.Abs(memoryGiB - 2 * cpu) < 1e-9;

    private static IEnumerable<int> Steps(int from, int to, int step)
    {
        for (var m = from; m <= to; m += step)
        {
            yield return m;
        }
    }
}
