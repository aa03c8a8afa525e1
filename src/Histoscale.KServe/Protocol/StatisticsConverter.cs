using Histoscale.Inference.Scheduling;

namespace Histoscale.KServe.Protocol;

/// <summary>Triton's ModelStatistics message to and from <see cref="InferenceStatisticsSnapshot"/>.</summary>
internal static class StatisticsConverter
{
    public static ModelStatistics ToProto(string name, string version, InferenceStatisticsSnapshot s)
    {
        var stats = new ModelStatistics
        {
            Name = name,
            Version = version,
            LastInference = (ulong)Math.Max(0, s.LastInferenceUnixMs),
            InferenceCount = (ulong)s.InferenceCount,
            ExecutionCount = (ulong)s.ExecutionCount,
            InferenceStats = new InferStatistics
            {
                Success = ToProto(s.Success),
                Fail = ToProto(s.Fail),
                Queue = ToProto(s.Queue),
                ComputeInput = ToProto(s.ComputeInput),
                ComputeInfer = ToProto(s.ComputeInfer),
                ComputeOutput = ToProto(s.ComputeOutput),
                CacheHit = new StatisticDuration(),
                CacheMiss = new StatisticDuration(),
            },
        };
        foreach (var b in s.BatchStats)
        {
            stats.BatchStats.Add(new InferBatchStatistics
            {
                BatchSize = (ulong)b.BatchSize,
                ComputeInput = ToProto(b.ComputeInput),
                ComputeInfer = ToProto(b.ComputeInfer),
                ComputeOutput = ToProto(b.ComputeOutput),
            });
        }
        return stats;
    }

    public static InferenceStatisticsSnapshot FromProto(ModelStatistics s)
    {
        var i = s.InferenceStats ?? new InferStatistics();
        return new InferenceStatisticsSnapshot(
            FromProto(i.Success),
            FromProto(i.Fail),
            FromProto(i.Queue),
            FromProto(i.ComputeInput),
            FromProto(i.ComputeInfer),
            FromProto(i.ComputeOutput),
            (long)s.InferenceCount,
            (long)s.ExecutionCount,
            (long)s.LastInference,
            0,
            [.. s.BatchStats.Select(b => new BatchStat((int)b.BatchSize, FromProto(b.ComputeInput), FromProto(b.ComputeInfer), FromProto(b.ComputeOutput)))]);
    }

    private static StatisticDuration ToProto(DurationStat d) => new() { Count = (ulong)d.Count, Ns = (ulong)d.Ns };

    private static DurationStat FromProto(StatisticDuration? d) => d is null ? default : new DurationStat((long)d.Count, (long)d.Ns);
}
