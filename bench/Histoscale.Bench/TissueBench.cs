using System.Diagnostics;
using System.Globalization;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Bench;

/// <summary>
/// Tissue detection alone, as `infer` runs it (default options), per slide: one untimed run (compilation, file
/// cache), then five timed ones; prints the median wall and process CPU seconds. `bench/run.sh cohort` divides them by
/// each slide's inference seconds from the cohort run.
/// </summary>
internal static class TissueBench
{
    public static int Run(IEnumerable<string> slides)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var path in slides)
        {
            using var slide = Slide.Open(path);
            var mask = TissueDetector.Detect(slide);
            var walls = new List<double>();
            var cpus = new List<double>();
            for (var rep = 0; rep < 5; rep++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                mask = TissueDetector.Detect(slide);
                walls.Add(sw.Elapsed.TotalSeconds);
                cpus.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            }
            walls.Sort();
            cpus.Sort();
            Console.WriteLine(string.Create(inv, $"tissue {Path.GetFileNameWithoutExtension(path)} wall={walls[2]:F4} cpu={cpus[2]:F4} mask={mask.Width}x{mask.Height} tissue={mask.TissueFraction:F3}"));
        }
        return 0;
    }
}
