namespace Histoscale.Costing.Simulation;

/// <summary>The policy the simulated autoscaler follows.</summary>
public enum ScalingPolicy
{
    /// <summary>KEDA queue scaler: slides in the queue (waiting + in service, as a broker counts unacknowledged messages) per replica; scales to zero.</summary>
    KedaQueue,

    /// <summary>HPA on the age of the oldest waiting slide against a target queue time; at least one replica.</summary>
    HpaQueueTime,

    /// <summary>A fixed fleet sized so that no slide ever waits: the most slides in service at once if none waited.</summary>
    FixedPeak,

    /// <summary>A fixed fleet sized for the mean load: ceil(arrival rate × service time).</summary>
    FixedMean,
}
