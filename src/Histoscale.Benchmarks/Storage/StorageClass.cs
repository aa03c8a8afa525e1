namespace Histoscale.Benchmarks.Storage;

/// <summary>
/// A storage asset class as the reader feels it: time to the first byte of each request, and bandwidth of one
/// request's stream (many requests in parallel each get it). The presets are round public figures, not
/// measurements of any provider.
/// </summary>
/// <param name="Name">Preset name, e.g. "object-standard".</param>
/// <param name="FirstByteLatency">Time to the first byte of every request.</param>
/// <param name="BytesPerSecondPerStream">Bandwidth of one request's stream, in bytes per second; 0 = unlimited.</param>
public sealed record StorageClass(string Name, TimeSpan FirstByteLatency, double BytesPerSecondPerStream)
{
    /// <summary>Local NVMe: ~0.1 ms, ~2 GB/s.</summary>
    public static StorageClass LocalNvme { get; } = new("local-nvme", TimeSpan.FromMilliseconds(0.1), 2e9);

    /// <summary>Network block storage (EBS/Persistent Disk class): ~1 ms, ~250 MB/s.</summary>
    public static StorageClass NetworkBlock { get; } = new("network-block", TimeSpan.FromMilliseconds(1), 250e6);

    /// <summary>Object storage, standard tier, same region: ~30 ms first byte, ~100 MB/s per stream.</summary>
    public static StorageClass ObjectStandard { get; } = new("object-standard", TimeSpan.FromMilliseconds(30), 100e6);

    /// <summary>Object storage in another region: ~80 ms first byte, ~50 MB/s per stream.</summary>
    public static StorageClass CrossRegion { get; } = new("cross-region", TimeSpan.FromMilliseconds(80), 50e6);

    /// <summary>The preset classes, fastest first.</summary>
    public static IReadOnlyList<StorageClass> Presets { get; } = [LocalNvme, NetworkBlock, ObjectStandard, CrossRegion];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No preset has that name.</exception>
    public static StorageClass Parse(string name) =>
        Presets.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown storage class '{name}' (known: {string.Join(", ", Presets.Select(p => p.Name))})");

    /// <summary>How long one request of <paramref name="bytes"/> takes on this class.</summary>
    public TimeSpan RequestTime(long bytes) =>
        FirstByteLatency + (BytesPerSecondPerStream > 0 ? TimeSpan.FromSeconds(bytes / BytesPerSecondPerStream) : TimeSpan.Zero);
}
