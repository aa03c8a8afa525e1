using System.Diagnostics;

namespace Histoscale.Pipeline.Execution;

/// <summary>
/// Time spent per stage, summed over the threads doing it (so read time can exceed wall time with several
/// workers). Waits are reported apart: they show which side of a channel starved.
/// </summary>
internal sealed class StageTimings
{
    private long _tissue;
    private long _plan;
    private long _read;
    private long _preprocess;
    private long _waitForBuffer;
    private long _infer;
    private long _checkpoint;
    private long _outputs;
    private long _stainFit;
    private bool _stainFitted;
    private long _quality;
    private bool _qualityRan;

    public void AddTissue(long ticks) => Interlocked.Add(ref _tissue, ticks);

    public void AddPlan(long ticks) => Interlocked.Add(ref _plan, ticks);

    public void AddRead(long ticks) => Interlocked.Add(ref _read, ticks);

    public void AddPreprocess(long ticks) => Interlocked.Add(ref _preprocess, ticks);

    public void AddWaitForBuffer(long ticks) => Interlocked.Add(ref _waitForBuffer, ticks);

    public void AddInfer(long ticks) => Interlocked.Add(ref _infer, ticks);

    public void AddCheckpoint(long ticks) => Interlocked.Add(ref _checkpoint, ticks);

    public void AddOutputs(long ticks) => Interlocked.Add(ref _outputs, ticks);

    /// <summary>Quality control before inference (only runs with <c>--qc</c> report this stage).</summary>
    public void AddQuality(long ticks)
    {
        Interlocked.Add(ref _quality, ticks);
        _qualityRan = true;
    }

    /// <summary>Estimating the slide's stain (only runs with stain normalisation report this stage).</summary>
    public void AddStainFit(long ticks)
    {
        Interlocked.Add(ref _stainFit, ticks);
        _stainFitted = true;
    }

    /// <summary>Seconds per stage, keyed by the names run.json uses.</summary>
    public IReadOnlyDictionary<string, double> Seconds()
    {
        var seconds = new Dictionary<string, double>
        {
            ["tissue"] = S(_tissue),
            ["plan"] = S(_plan),
            ["read"] = S(_read),
            ["preprocess"] = S(_preprocess),
            ["waitForBuffer"] = S(_waitForBuffer),
            ["infer"] = S(_infer),
            ["checkpoint"] = S(_checkpoint),
            ["outputs"] = S(_outputs),
        };
        if (_stainFitted)
        {
            seconds["stainFit"] = S(_stainFit);
        }
        if (_qualityRan)
        {
            seconds["qc"] = S(_quality); // infer --qc only: run.json keeps its keys without it
        }
        return seconds;
    }

    private static double S(long ticks) => Math.Round((double)ticks / Stopwatch.Frequency, 4);
}
