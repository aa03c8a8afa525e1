using System.Globalization;

namespace Histoscale.Server.Metrics;

/// <summary>The machine's RAM as Triton reports it for nv_cpu_memory_*: MemTotal and MemTotal − MemAvailable from /proc/meminfo.</summary>
internal static class SystemMemory
{
    public static (long Total, long Used)? Read(string path = "/proc/meminfo")
    {
        long total = -1, available = -1;
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    total = Kilobytes(line);
                }
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    available = Kilobytes(line);
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        return total < 0 || available < 0 ? null : (total, Math.Max(0, total - available));
    }

    /// <summary>"MemTotal:       16318580 kB" → bytes.</summary>
    private static long Kilobytes(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : -1;
    }
}
