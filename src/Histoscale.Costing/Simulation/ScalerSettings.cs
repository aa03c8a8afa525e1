namespace Histoscale.Costing.Simulation;

/// <summary>
/// The autoscaler's parameters, named as KEDA's ScaledObject and the HPA's behavior fields name them, with their
/// documented defaults. The simulator and the deployment manifests take the same values.
/// </summary>
public sealed record ScalerSettings
{
    /// <summary>KEDA <c>pollingInterval</c>: seconds between metric reads and scaling decisions (default 30).</summary>
    public double PollingIntervalSeconds { get; init; } = 30;

    /// <summary>KEDA <c>cooldownPeriod</c>: seconds without activity before scaling to zero (default 300).</summary>
    public double CooldownSeconds { get; init; } = 300;

    /// <summary>HPA tolerance: no change while |metric / target − 1| ≤ this (default 0.1).</summary>
    public double Tolerance { get; init; } = 0.1;

    /// <summary>HPA <c>behavior.scaleDown.stabilizationWindowSeconds</c> (default 300): the highest recommendation of the window wins.</summary>
    public double ScaleDownStabilizationSeconds { get; init; } = 300;

    /// <summary>HPA <c>behavior.scaleUp.stabilizationWindowSeconds</c> (default 0): the lowest recommendation of the window wins.</summary>
    public double ScaleUpStabilizationSeconds { get; init; }

    /// <summary>HPA default scale-up policy: add at most this many pods per period (default 4)...</summary>
    public int ScaleUpPods { get; init; } = 4;

    /// <summary>... or this percentage of the current replicas, whichever is more (default 100).</summary>
    public double ScaleUpPercent { get; init; } = 100;

    /// <summary>KEDA queue trigger <c>value</c>: slides per replica (default 1: one slide at a time per worker).</summary>
    public double QueueTarget { get; init; } = 1;

    /// <summary>KEDA <c>activationValue</c>: scale from zero when the queue is above this (default 0).</summary>
    public double ActivationQueue { get; init; }

    /// <summary>hpa-queue-time target: seconds the oldest waiting slide may wait (default 300).</summary>
    public double QueueTimeTargetSeconds { get; init; } = 300;

    /// <summary>Throws a <see cref="CostingConfigException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        if (!(PollingIntervalSeconds > 0) || CooldownSeconds < 0 || Tolerance < 0 || ScaleDownStabilizationSeconds < 0 || ScaleUpStabilizationSeconds < 0
            || ScaleUpPods < 1 || ScaleUpPercent < 0 || !(QueueTarget > 0) || ActivationQueue < 0 || !(QueueTimeTargetSeconds > 0))
        {
            throw new CostingConfigException("scaler settings: polling interval, queue target and queue-time target must be positive, the others not negative, scale-up pods ≥ 1");
        }
    }
}
