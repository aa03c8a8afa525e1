namespace Histoscale.Costing.Prices;

/// <summary>
/// How a storage class is read for inference: the emulated classes of docs/data-loading.md (first-byte latency and
/// per-stream bandwidth, round public figures that <c>bench storage --emulate</c> uses), or <c>restore</c>.
/// </summary>
public sealed record LoadingClass
{
    /// <summary>The name the price table's <c>loading</c> field uses.</summary>
    public required string Name { get; init; }

    /// <summary>Milliseconds to the first byte of a read; null for <c>restore</c> (hours, see the storage row).</summary>
    public double? FirstByteMs { get; init; }

    /// <summary>Megabytes per second of one read stream; null for <c>restore</c>.</summary>
    public double? StreamMegabytesPerSecond { get; init; }

    /// <summary>Objects must be restored (hours) before any read.</summary>
    public const string Restore = "restore";

    /// <summary>The classes docs/data-loading.md emulates, and <c>restore</c>.</summary>
    public static IReadOnlyList<LoadingClass> All { get; } =
    [
        new() { Name = "local-nvme", FirstByteMs = 0.1, StreamMegabytesPerSecond = 2000 },
        new() { Name = "network-block", FirstByteMs = 1, StreamMegabytesPerSecond = 250 },
        new() { Name = "object-standard", FirstByteMs = 30, StreamMegabytesPerSecond = 100 },
        new() { Name = "cross-region", FirstByteMs = 80, StreamMegabytesPerSecond = 50 },
        new() { Name = Restore },
    ];

    /// <summary>The class named <paramref name="name"/>, or null.</summary>
    public static LoadingClass? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}
