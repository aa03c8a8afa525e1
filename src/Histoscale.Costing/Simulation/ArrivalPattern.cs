namespace Histoscale.Costing.Simulation;

/// <summary>How slides arrive over a day (a trace file is read with <see cref="ArrivalTrace"/> instead).</summary>
public enum ArrivalPattern
{
    /// <summary>A Poisson process at the mean rate.</summary>
    Flat,

    /// <summary>A Poisson process whose rate is 80 % of the day's slides between 08:00 and 18:00, 20 % in the other 14 hours.</summary>
    Diurnal,

    /// <summary>30 % of slides as a flat Poisson background, 70 % in scanner batches of 100 slides spread over 10 minutes.</summary>
    Bursty,
}
