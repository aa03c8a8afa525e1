namespace Histoscale.Costing.Simulation;

/// <summary>The state of one simulation run (events, replicas, queue, integrals).</summary>
internal sealed class SimulationRun(SimulationOptions o)
{
    private enum ReplicaState { Starting, Idle, Busy, Draining, Stopped }

    private enum EventKind { Ready, Complete, Poll }

    private sealed class Replica(double start)
    {
        public double Start { get; } = start;
        public ReplicaState State { get; set; } = ReplicaState.Starting;
        public int Slide { get; set; } = -1;
    }

    private readonly PriorityQueue<(EventKind Kind, Replica? Replica), (double Time, long Seq)> _events = new();
    private readonly List<Replica> _live = [];
    private readonly Queue<int> _queue = new();
    private readonly Stack<Replica> _idle = new();
    private readonly double[] _turnaround = new double[o.Arrivals.Count];
    private readonly List<Accumulator> _hours = [];
    private readonly List<List<double>> _dayTurnarounds = [];
    private readonly List<(double Time, int Desired)> _recommendations = [];
    private long _seq;
    private double _last;
    private int _inSystem;
    private int _completed;
    private int _maxLive;
    private int _maxQueue;
    private double _billedSeconds;
    private double _lastActive = double.NegativeInfinity;
    private double _lastCompletion;

    /// <summary>What happened in one hour (days are sums of 24 hours).</summary>
    private sealed class Accumulator
    {
        public int Arrivals;
        public int Completed;
        public double ReplicaSeconds;
        public double InSystemSeconds;
        public double ExtraBilledSeconds;
        public int MaxQueue;
    }

    private int Live => _live.Count;

    private int Current => _live.Count(r => r.State != ReplicaState.Draining);

    private bool Autoscaled => o.Policy is ScalingPolicy.KedaQueue or ScalingPolicy.HpaQueueTime;

    public SimulationResult Execute()
    {
        var arrivals = o.Arrivals;
        var n = arrivals.Count;
        var horizon = o.Days * 86400;
        int? fixedFleet = o.Policy switch
        {
            ScalingPolicy.FixedPeak => AutoscaleSimulator.PeakFleet(arrivals, o.ServiceSeconds),
            ScalingPolicy.FixedMean => AutoscaleSimulator.MeanFleet(n, o.Days, o.ServiceSeconds),
            _ => null,
        };
        if (fixedFleet is { } f)
        {
            fixedFleet = Math.Clamp(f, Math.Max(1, o.MinReplicas), o.MaxReplicas);
        }
        // Fixed fleets and the autoscalers' minimum replicas are running (ready) when the simulation starts.
        var initial = fixedFleet ?? o.MinReplicas;
        for (var i = 0; i < initial; i++)
        {
            var r = new Replica(0) { State = ReplicaState.Idle };
            _live.Add(r);
            _idle.Push(r);
        }
        _maxLive = Live;
        if (Autoscaled)
        {
            Schedule(0, EventKind.Poll, null);
        }

        var next = 0;
        while (true)
        {
            var tA = next < n ? arrivals[next] : double.PositiveInfinity;
            var tE = _events.TryPeek(out _, out var p) ? p.Time : double.PositiveInfinity;
            if (double.IsPositiveInfinity(tA) && double.IsPositiveInfinity(tE))
            {
                break;
            }
            if (tA <= tE)
            {
                Advance(tA);
                _inSystem++;
                _queue.Enqueue(next);
                Hour(tA).Arrivals++;
                next++;
                Dispatch(tA);
                continue;
            }
            var (kind, replica) = _events.Dequeue();
            Advance(tE);
            switch (kind)
            {
                case EventKind.Ready:
                    if (replica!.State == ReplicaState.Starting)
                    {
                        replica.State = ReplicaState.Idle;
                        _idle.Push(replica);
                        Dispatch(tE);
                    }
                    break;
                case EventKind.Complete:
                    Complete(tE, replica!);
                    break;
                case EventKind.Poll:
                    Decide(tE);
                    if (next < n || _inSystem > 0 || tE + o.Scaler.PollingIntervalSeconds < horizon)
                    {
                        Schedule(tE + o.Scaler.PollingIntervalSeconds, EventKind.Poll, null);
                    }
                    break;
            }
        }

        // The last event may come after the horizon and the last completion (a replica that was starting then).
        var end = Math.Max(Math.Max(horizon, _lastCompletion), _last);
        Advance(end);
        foreach (var r in _live.ToList())
        {
            Stop(end, r);
        }
        return Result(end, fixedFleet);
    }

    private void Schedule(double time, EventKind kind, Replica? replica) => _events.Enqueue((kind, replica), (time, _seq++));

    private Accumulator Hour(double t)
    {
        var h = (int)(t / 3600);
        while (_hours.Count <= h)
        {
            _hours.Add(new Accumulator());
        }
        return _hours[h];
    }

    private List<double> DayTurnarounds(double t)
    {
        var d = (int)(t / 86400);
        while (_dayTurnarounds.Count <= d)
        {
            _dayTurnarounds.Add([]);
        }
        return _dayTurnarounds[d];
    }

    /// <summary>Integrates slides in the system and billed replicas from the last event to <paramref name="t"/>, split at hour boundaries.</summary>
    private void Advance(double t)
    {
        while (_last < t)
        {
            var hourEnd = (Math.Floor(_last / 3600) + 1) * 3600;
            var segmentEnd = Math.Min(t, hourEnd);
            var hour = Hour(_last);
            var dt = segmentEnd - _last;
            hour.InSystemSeconds += _inSystem * dt;
            hour.ReplicaSeconds += Live * dt;
            _last = segmentEnd;
        }
    }

    private void Dispatch(double t)
    {
        while (_queue.Count > 0 && _idle.TryPop(out var r))
        {
            if (r.State != ReplicaState.Idle)
            {
                continue; // stopped while idle (lazy removal)
            }
            r.State = ReplicaState.Busy;
            r.Slide = _queue.Dequeue();
            Schedule(t + o.ServiceSeconds, EventKind.Complete, r);
        }
        if (_queue.Count > _maxQueue)
        {
            _maxQueue = _queue.Count;
        }
        var hour = Hour(t);
        hour.MaxQueue = Math.Max(hour.MaxQueue, _queue.Count);
    }

    private void Complete(double t, Replica r)
    {
        var turnaround = t - o.Arrivals[r.Slide];
        _turnaround[r.Slide] = turnaround;
        _completed++;
        _inSystem--;
        _lastCompletion = t;
        Hour(t).Completed++;
        DayTurnarounds(t).Add(turnaround);
        r.Slide = -1;
        if (r.State == ReplicaState.Draining)
        {
            Stop(t, r);
        }
        else
        {
            r.State = ReplicaState.Idle;
            _idle.Push(r);
        }
        Dispatch(t);
    }

    private void Stop(double t, Replica r)
    {
        var ran = t - r.Start;
        var billed = o.Billing.BilledSeconds(ran);
        _billedSeconds += billed;
        Hour(Math.Max(0, t - 1e-9)).ExtraBilledSeconds += billed - ran;
        r.State = ReplicaState.Stopped;
        _live.Remove(r);
    }

    private void Decide(double t)
    {
        var s = o.Scaler;
        var current = Current;
        var floor = Math.Max(1, o.MinReplicas);
        int desired;
        if (o.Policy == ScalingPolicy.KedaQueue)
        {
            var active = _inSystem > s.ActivationQueue;
            if (active)
            {
                _lastActive = t;
            }
            if (current == 0)
            {
                // KEDA's activation: from zero to max(1, minReplicaCount) when the trigger is active; the HPA takes over from there.
                if (active)
                {
                    Apply(t, current, Math.Min(floor, o.MaxReplicas));
                }
                return;
            }
            if (!active && o.MinReplicas == 0 && t - _lastActive >= s.CooldownSeconds)
            {
                _recommendations.Clear();
                Apply(t, current, 0); // KEDA scales to zero itself after the cooldown, outside the HPA
                return;
            }
            desired = ScalerMath.Desired(current, (double)_inSystem / current, s.QueueTarget, s.Tolerance);
        }
        else
        {
            var oldest = _queue.Count > 0 ? t - o.Arrivals[_queue.Peek()] : 0;
            desired = ScalerMath.Desired(current, oldest, s.QueueTimeTargetSeconds, s.Tolerance);
        }

        // The HPA's stabilization windows: scale down to the highest recommendation of the last window, scale up to
        // the lowest; then the scale-up rate limit and the replica bounds.
        _recommendations.Add((t, desired));
        var keep = Math.Max(s.ScaleDownStabilizationSeconds, s.ScaleUpStabilizationSeconds);
        _recommendations.RemoveAll(r => r.Time < t - keep);
        var target = current;
        if (desired < current)
        {
            target = Math.Min(current, _recommendations.Where(r => r.Time >= t - s.ScaleDownStabilizationSeconds).Max(r => r.Desired));
        }
        else if (desired > current)
        {
            target = Math.Max(current, _recommendations.Where(r => r.Time >= t - s.ScaleUpStabilizationSeconds).Min(r => r.Desired));
            target = Math.Min(target, ScalerMath.ScaleUpLimit(current, s));
        }
        Apply(t, current, Math.Clamp(target, floor, o.MaxReplicas));
    }

    private void Apply(double t, int current, int target)
    {
        if (target > current)
        {
            for (var i = current; i < target; i++)
            {
                var r = new Replica(t);
                _live.Add(r);
                Schedule(t + o.StartupSeconds, EventKind.Ready, r);
            }
            _maxLive = Math.Max(_maxLive, Live);
            return;
        }
        var remove = current - target;
        foreach (var state in (ReadOnlySpan<ReplicaState>)[ReplicaState.Idle, ReplicaState.Starting, ReplicaState.Busy])
        {
            foreach (var r in _live.Where(r => r.State == state).ToList())
            {
                if (remove == 0)
                {
                    return;
                }
                remove--;
                if (state == ReplicaState.Busy)
                {
                    r.State = ReplicaState.Draining; // finishes its slide, then stops
                }
                else
                {
                    Stop(t, r);
                }
            }
        }
    }

    private SimulationResult Result(double end, int? fixedFleet)
    {
        var n = o.Arrivals.Count;
        var sorted = (double[])_turnaround.Clone();
        Array.Sort(sorted);
        var perHourPrice = o.PricePerHour / 3600;
        var total = _billedSeconds * perHourPrice;
        var hours = new List<SimulationHour>(_hours.Count);
        for (var h = 0; h < _hours.Count; h++)
        {
            var a = _hours[h];
            var length = Math.Min(3600, end - h * 3600.0);
            if (length <= 0)
            {
                continue;
            }
            hours.Add(new SimulationHour
            {
                Hour = h,
                Arrivals = a.Arrivals,
                Completed = a.Completed,
                Cost = (a.ReplicaSeconds + a.ExtraBilledSeconds) * perHourPrice,
                MeanReplicas = a.ReplicaSeconds / length,
                MeanInSystem = a.InSystemSeconds / length,
                MaxQueue = a.MaxQueue,
            });
        }
        var days = new List<SimulationDay>();
        for (var d = 0; d * 24 < hours.Count; d++)
        {
            var of = hours.Skip(d * 24).Take(24).ToList();
            var length = Math.Min(86400, end - d * 86400.0);
            var turn = d < _dayTurnarounds.Count ? _dayTurnarounds[d].ToArray() : [];
            Array.Sort(turn);
            days.Add(new SimulationDay
            {
                Day = d,
                Arrivals = of.Sum(x => x.Arrivals),
                Completed = of.Sum(x => x.Completed),
                Cost = of.Sum(x => x.Cost),
                MeanReplicas = of.Sum(x => x.MeanReplicas * Math.Min(3600, end - x.Hour * 3600.0)) / length,
                MeanInSystem = of.Sum(x => x.MeanInSystem * Math.Min(3600, end - x.Hour * 3600.0)) / length,
                MaxQueue = of.Max(x => x.MaxQueue),
                P95TurnaroundMinutes = turn.Length == 0 ? 0 : Percentile(turn, 0.95) / 60,
            });
        }
        var p95 = Percentile(sorted, 0.95) / 60;
        return new SimulationResult
        {
            Slides = n,
            Completed = _completed,
            ArrivalsPerHour = n / (o.Days * 24),
            CostPerMonth = total / o.Days * (365.0 / 12),
            TotalCost = total,
            InstanceHours = _billedSeconds / 3600,
            P50TurnaroundMinutes = Percentile(sorted, 0.5) / 60,
            P95TurnaroundMinutes = p95,
            MeanTurnaroundMinutes = _turnaround.Sum() / n / 60,
            MeanInSystem = _hours.Sum(h => h.InSystemSeconds) / end,
            MeanReplicas = _hours.Sum(h => h.ReplicaSeconds) / end,
            MaxReplicas = _maxLive,
            MaxQueue = _maxQueue,
            SimulatedHours = end / 3600,
            FixedReplicas = fixedFleet,
            TurnaroundTargetMinutes = o.TurnaroundTargetMinutes,
            TurnaroundMet = p95 <= o.TurnaroundTargetMinutes,
            PerDay = days,
            PerHour = hours,
        };
    }

    /// <summary>Nearest-rank percentile of a sorted array.</summary>
    internal static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }
        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
