namespace Histoscale.Costing.Prices;

/// <summary>Names of <see cref="AssetKind"/> as the price table and the cost map write them.</summary>
public static class AssetKinds
{
    /// <summary>The table's name of a kind.</summary>
    public static string Name(AssetKind kind) => kind switch
    {
        AssetKind.ServerlessCpu => "serverless-cpu",
        AssetKind.VmCpu => "vm-cpu",
        AssetKind.VmGpu => "vm-gpu",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a table name; false when unknown.</summary>
    public static bool TryParse(string name, out AssetKind kind)
    {
        switch (name)
        {
            case "serverless-cpu": kind = AssetKind.ServerlessCpu; return true;
            case "vm-cpu": kind = AssetKind.VmCpu; return true;
            case "vm-gpu": kind = AssetKind.VmGpu; return true;
            default: kind = default; return false;
        }
    }

    /// <summary>
    /// Default seconds from a scale-up decision to a ready replica: a serverless container pulls an image and starts
    /// (≈ 45 s), a CPU VM node boots and joins the cluster first (≈ 120 s), a GPU node also loads its driver and a
    /// larger image (≈ 300 s). Round assumptions, not measurements; <c>--startup-seconds</c> overrides them.
    /// </summary>
    public static double DefaultStartupSeconds(AssetKind kind) => kind switch
    {
        AssetKind.ServerlessCpu => 45,
        AssetKind.VmCpu => 120,
        AssetKind.VmGpu => 300,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
