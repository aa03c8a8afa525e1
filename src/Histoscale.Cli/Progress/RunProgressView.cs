using System.Globalization;
using Histoscale.Pipeline.Runs;
using Spectre.Console;

namespace Histoscale.Cli.Progress;

/// <summary>
/// Shows a run's progress: live bars per slide and overall (tiles, MP/s, ETA) on a terminal, or a plain line
/// per slide event and every few seconds otherwise (logs, CI), written to stderr so stdout stays parseable.
/// </summary>
public static class RunProgressView
{
    public static async Task<RunSummary> RunAsync(Func<Action<SlideProgress>, Task<RunSummary>> run, bool live, TextWriter plain, TimeSpan interval)
    {
        if (!live)
        {
            return await RunPlainAsync(run, plain, interval).ConfigureAwait(false);
        }
        RunSummary? summary = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var gate = new Lock();
                var tasks = new Dictionary<int, ProgressTask>();
                ProgressTask? overall = null;
                summary = await run(p =>
                {
                    lock (gate)
                    {
                        overall ??= ctx.AddTask("overall", maxValue: p.SlideCount);
                        if (!tasks.TryGetValue(p.SlideIndex, out var task))
                        {
                            tasks[p.SlideIndex] = task = ctx.AddTask(Markup.Escape(p.Name), maxValue: 1);
                        }
                        if (p.TilesTotal > 0)
                        {
                            task.MaxValue = p.TilesTotal;
                            task.Value = p.TilesDone;
                        }
                        task.Description = Markup.Escape(Describe(p));
                        if (p.Phase is SlidePhase.Done or SlidePhase.Skipped or SlidePhase.Failed or SlidePhase.Cancelled)
                        {
                            task.Value = task.MaxValue;
                            task.StopTask();
                            overall.Increment(1);
                        }
                        overall.Description = $"overall {overall.Value:0}/{p.SlideCount} slides";
                    }
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return summary!;
    }

    private static async Task<RunSummary> RunPlainAsync(Func<Action<SlideProgress>, Task<RunSummary>> run, TextWriter plain, TimeSpan interval)
    {
        var gate = new Lock();
        var last = DateTime.MinValue;
        var lastPhase = (SlidePhase)(-1);
        var lastSlide = -1;
        return await run(p =>
        {
            lock (gate)
            {
                var changed = p.Phase != lastPhase || p.SlideIndex != lastSlide;
                if (!changed && DateTime.UtcNow - last < interval)
                {
                    return;
                }
                last = DateTime.UtcNow;
                lastPhase = p.Phase;
                lastSlide = p.SlideIndex;
                plain.WriteLine($"[{p.SlideIndex + 1}/{p.SlideCount}] {Describe(p)}");
            }
        }).ConfigureAwait(false);
    }

    private static string Describe(SlideProgress p)
    {
        var c = CultureInfo.InvariantCulture;
        return p.Phase switch
        {
            SlidePhase.Opening => $"{p.Name}: opening, detecting tissue, planning",
            SlidePhase.Inferring => string.Create(c, $"{p.Name}: {p.TilesDone}/{p.TilesTotal} tiles, {p.TilesPerSecond:F1} tiles/s, {p.MegapixelsPerSecond:F1} MP/s{(p.EtaSeconds is { } eta ? $", ETA {TimeSpan.FromSeconds(Math.Round(eta)):g}" : "")}"),
            SlidePhase.Writing => $"{p.Name}: writing outputs",
            SlidePhase.Done => string.Create(c, $"{p.Name}: done, {p.TilesTotal} tiles in {p.Seconds:F1} s"),
            SlidePhase.Skipped => $"{p.Name}: already finished, skipped",
            SlidePhase.Failed => $"{p.Name}: failed",
            _ => $"{p.Name}: cancelled (checkpoint kept)",
        };
    }
}
