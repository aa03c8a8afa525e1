using System.Globalization;

namespace Histoscale.Cli;

/// <summary>
/// The container's memory limit, read by the host (libraries take it as an option): cgroup v2 <c>memory.max</c>,
/// else cgroup v1 <c>memory/memory.limit_in_bytes</c>; null when there is none ("max", or v1's "unlimited" value).
/// </summary>
public static class ContainerMemory
{
    /// <param name="cgroupRoot">Where the cgroup filesystem is mounted (tests pass a directory of their own).</param>
    public static long? LimitBytes(string cgroupRoot = "/sys/fs/cgroup")
    {
        foreach (var file in new[] { Path.Combine(cgroupRoot, "memory.max"), Path.Combine(cgroupRoot, "memory", "memory.limit_in_bytes") })
        {
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
            if (text == "max")
            {
                return null;
            }
            // cgroup v1 reports "no limit" as a page-rounded long.MaxValue; anything beyond 1 PiB means the same.
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0 && bytes < (1L << 50) ? bytes : null;
        }
        return null;
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
