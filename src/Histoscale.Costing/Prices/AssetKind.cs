namespace Histoscale.Costing.Prices;

/// <summary>What kind of compute an asset row is; decides the throughput rule and the default start-up time.</summary>
public enum AssetKind
{
    /// <summary>CPU serverless containers (Fargate, Container Apps, Cloud Run, GKE Autopilot pods).</summary>
    ServerlessCpu,

    /// <summary>CPU virtual machines (x86 or arm64).</summary>
    VmCpu,

    /// <summary>GPU virtual machines.</summary>
    VmGpu,
}
