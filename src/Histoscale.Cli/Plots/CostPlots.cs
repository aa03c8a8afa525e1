using Histoscale.Costing.Map;
using Histoscale.Costing.Simulation;

namespace Histoscale.Cli.Plots;

/// <summary>The PNG plots of <c>cost --plot</c> and <c>simulate --plot</c>.</summary>
internal static class CostPlots
{
    private static readonly Dictionary<string, string> ClassColors = new()
    {
        ["serverless-cpu"] = "#1f77b4",
        ["vm-cpu"] = "#2ca02c",
        ["vm-gpu"] = "#d62728",
    };

    /// <summary>$/slide vs slides/hour per asset (one colour per class, spot apart); storage vs compute per year and cloud.</summary>
    public static void WriteMap(string path, IReadOnlyList<CostRow> rows, IReadOnlyList<StorageLine> storage)
    {
        var known = rows.Where(r => r.DollarsPerSlide is not null).ToList();
        var series = new List<Series>();
        foreach (var group in known.GroupBy(r => (r.AssetClass, r.Spot)))
        {
            var color = ClassColors.GetValueOrDefault(group.Key.AssetClass, "#7f7f7f");
            if (group.Key.Spot)
            {
                color = "#ff7f0e";
            }
            series.Add(new Series(group.Key.AssetClass + (group.Key.Spot ? " (spot)" : ""), [.. group.Select(r => r.SlidesPerHour!.Value)],
                [.. group.Select(r => r.DollarsPerSlide!.Value)], color, Line: false, Labels: [.. group.Select(r => r.Id)]));
        }
        var clouds = storage.Select(s => s.Cloud).Distinct().ToList();
        var compute = clouds.Select(c => known.Where(r => r.Cloud == c && !r.Spot).MinBy(r => r.DollarsPerYear)).ToList();
        var perYear = new List<Series>();
        var x = 1.0;
        var storageX = new List<double>();
        var storageY = new List<double>();
        var storageLabels = new List<string>();
        var computeX = new List<double>();
        var computeY = new List<double>();
        var computeLabels = new List<string>();
        for (var i = 0; i < clouds.Count; i++)
        {
            if (compute[i] is { } c)
            {
                computeX.Add(x);
                computeY.Add(c.DollarsPerYear!.Value);
                computeLabels.Add("compute " + c.Id);
                x++;
            }
            foreach (var s in storage.Where(s => s.Cloud == clouds[i]))
            {
                storageX.Add(x);
                storageY.Add(s.DollarsPerYear);
                storageLabels.Add($"{s.Cloud} {s.Lifecycle.Split(" (")[0]}");
                x++;
            }
            x++;
        }
        perYear.Add(new Series("storage", [.. storageX], [.. storageY], "#9467bd", Line: false, Labels: [.. storageLabels]));
        perYear.Add(new Series("compute (cheapest on-demand)", [.. computeX], [.. computeY], "#d62728", Line: false, Labels: [.. computeLabels]));
        Chart.WritePng(path,
        [
            new Panel("$/slide vs slides/hour of one instance, per asset", "slides per hour (log)", "$/slide (log)", series, LogX: true, LogY: true),
            new Panel("a year: storage per lifecycle vs compute, per cloud", "(lines, grouped by cloud)", "$/year (log)", perYear, LogY: true),
        ]);
    }

    /// <summary>The simulator's timeline: arrivals and completions, slides in the system, replicas, cost per hour.</summary>
    public static void WriteTimeline(string path, SimulationResult result, string title)
    {
        var hours = result.PerHour;
        // A year has 8760 hours: draw at most ~2000 points per line by averaging neighbouring hours.
        var step = Math.Max(1, hours.Count / 2000);
        var bins = hours.Chunk(step).ToList();
        double[] x = [.. bins.Select(b => b[0].Hour / 24.0)];
        double[] Avg(Func<SimulationHour, double> f) => [.. bins.Select(b => b.Average(f))];
        Chart.WritePng(path,
        [
            new Panel($"{title}: arrivals per hour", "day", "slides/hour", [new Series("arrivals", x, Avg(h => h.Arrivals), "#1f77b4", Line: true), new Series("completed", x, Avg(h => h.Completed), "#2ca02c", Line: true)]),
            new Panel("slides in the system (mean per hour) and most waiting", "day", "slides", [new Series("in system", x, Avg(h => h.MeanInSystem), "#ff7f0e", Line: true), new Series("max queue", x, Avg(h => h.MaxQueue), "#8c564b", Line: true)]),
            new Panel("replicas (mean per hour)", "day", "replicas", [new Series("replicas", x, Avg(h => h.MeanReplicas), "#d62728", Line: true)]),
            new Panel("cost per hour", "day", "$", [new Series("cost", x, Avg(h => h.Cost), "#9467bd", Line: true)]),
        ]);
    }
}
