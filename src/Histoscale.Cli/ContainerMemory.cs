using System.Globalization;

namespace Histoscale.Cli;

/// <summary>
/// The container's memory limit, read by the host (libraries take it as an option), for the process's own cgroup as
/// <c>/proc/self/cgroup</c> names it: cgroup v2 <c>memory.max</c> (the <c>0::/path</c> line), else cgroup v1
/// <c>memory.limit_in_bytes</c> (the line whose controllers include <c>memory</c>). A nested cgroup is bounded by every
/// ancestor, so the smallest limit from it up to the mount point counts. Where the named cgroup is not under the mount
/// (a container that sees only its own subtree), the mount point's own files are used. Null when there is no limit
/// ("max", or v1's "unlimited" value).
/// </summary>
public static class ContainerMemory
{
    /// <param name="cgroupRoot">Where the cgroup filesystem is mounted (tests pass a directory of their own).</param>
    /// <param name="procSelfCgroup">The process's cgroup membership file (tests pass one of their own).</param>
    public static long? LimitBytes(string cgroupRoot = "/sys/fs/cgroup", string procSelfCgroup = "/proc/self/cgroup")
    {
        var (v2, v1) = OwnCgroups(procSelfCgroup);
        if (Smallest(Chain(cgroupRoot, v2), "memory.max") is { Found: true } unified)
        {
            return unified.Limit;
        }
        return Smallest(Chain(Path.Combine(cgroupRoot, "memory"), v1), "memory.limit_in_bytes").Limit;
    }

    /// <summary>The cgroup v2 path (<c>0::/p</c>) and the v1 memory controller's path from a /proc/PID/cgroup file.</summary>
    internal static (string? V2, string? V1) OwnCgroups(string procSelfCgroup)
    {
        string[] lines;
        try
        {
            lines = File.Exists(procSelfCgroup) ? File.ReadAllLines(procSelfCgroup) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
        string? v2 = null, v1 = null;
        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                v2 = parts[2];
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                v1 = parts[2];
            }
        }
        return (v2, v1);
    }

    /// <summary>The cgroup's directory and its ancestors up to the mount point; just the mount point when it is not there.</summary>
    private static List<string> Chain(string mount, string? cgroup)
    {
        var root = Path.GetFullPath(mount);
        var relative = (cgroup ?? "").Trim().Trim('/');
        var dir = relative.Length == 0 ? root : Path.GetFullPath(Path.Combine(root, relative));
        if (!dir.StartsWith(root, StringComparison.Ordinal) || !Directory.Exists(dir))
        {
            return [root];
        }
        var chain = new List<string>();
        for (var d = dir; d is not null && d.Length >= root.Length; d = Path.GetDirectoryName(d))
        {
            chain.Add(d);
        }
        return chain;
    }

    private static (bool Found, long? Limit) Smallest(List<string> directories, string fileName)
    {
        var found = false;
        long? smallest = null;
        foreach (var directory in directories)
        {
            var file = Path.Combine(directory, fileName);
            string text;
            try
            {
                if (!File.Exists(file))
                {
                    continue;
                }
                text = File.ReadAllText(file).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            found = true;
            // cgroup v1 reports "no limit" as a page-rounded long.MaxValue; anything beyond 1 PiB means the same.
            if (text != "max" && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0 && bytes < (1L << 50))
            {
                smallest = smallest is { } s ? Math.Min(s, bytes) : bytes;
            }
        }
        return (found, smallest);
    }

    /// <summary>"512M", "2G", "1.5GiB", "1048576" → bytes; "0" or "none" → 0 (no limit). Null when malformed.</summary>
    public static long? ParseSize(string text)
    {
        text = text.Trim();
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }
        var unit = text.TrimStart("0123456789.".ToCharArray());
        var number = text[..^unit.Length];
        long multiplier = unit.ToUpperInvariant().TrimEnd('B').TrimEnd('I') switch
        {
            "" => 1,
            "K" => 1L << 10,
            "M" => 1L << 20,
            "G" => 1L << 30,
            "T" => 1L << 40,
            _ => -1,
        };
        if (multiplier < 0 || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            return null;
        }
        return (long)(value * multiplier);
    }
}
