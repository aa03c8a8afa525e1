using System.Globalization;

namespace Histoscale.Costing.Simulation;

/// <summary>
/// Arrival trace files: one arrival per line, seconds from the start of the trace (invariant culture, any order is
/// rejected: times must not decrease); blank lines and lines starting with <c>#</c> are ignored.
/// </summary>
public static class ArrivalTrace
{
    /// <summary>Writes arrival times, each with enough digits to read back the same double.</summary>
    public static void Write(TextWriter writer, IEnumerable<double> arrivals)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(arrivals);
        writer.WriteLine("# histoscale arrival trace: seconds from the start, one slide per line");
        foreach (var t in arrivals)
        {
            writer.WriteLine(t.ToString("R", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Reads a trace file; errors name the file and the line.</summary>
    public static double[] Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CostingConfigException($"{path}: arrival trace not found");
        }
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    /// <summary>Reads a trace; <paramref name="name"/> is what errors start with.</summary>
    public static double[] Read(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var times = new List<double>();
        var lineNo = 0;
        var last = 0.0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            var s = line.Trim();
            if (s.Length == 0 || s[0] == '#')
            {
                continue;
            }
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) || !double.IsFinite(t) || t < 0)
            {
                throw new CostingConfigException($"{name}: line {lineNo}: '{s}' is not a time in seconds ≥ 0");
            }
            if (t < last)
            {
                throw new CostingConfigException($"{name}: line {lineNo}: {s} is earlier than the line before (times must not decrease)");
            }
            last = t;
            times.Add(t);
        }
        if (times.Count == 0)
        {
            throw new CostingConfigException($"{name}: no arrivals");
        }
        return [.. times];
    }
}
