namespace Histoscale.Costing.Map;

/// <summary>The archive whose storage the map prices.</summary>
public sealed record StorageInputs
{
    /// <summary>Slides added a year.</summary>
    public required double SlidesPerYear { get; init; }

    /// <summary>Bytes per slide (measured from a slide file or given).</summary>
    public required double BytesPerSlide { get; init; }

    /// <summary>Bytes kept in all; null = one year of intake (<see cref="SlidesPerYear"/> × <see cref="BytesPerSlide"/>).</summary>
    public double? StoredBytes { get; init; }

    /// <summary>Days a new slide stays in the hot class before the lifecycle moves it.</summary>
    public double HotDays { get; init; } = 30;

    /// <summary>Fraction of the cold bytes read back in a year (re-analysis), billed at the class's retrieval fee.</summary>
    public double RereadFraction { get; init; }

    /// <summary>Throws a <see cref="CostingConfigException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        if (!(SlidesPerYear > 0) || !(BytesPerSlide > 0) || StoredBytes is <= 0 || HotDays < 0 || RereadFraction is < 0 or > 1000)
        {
            throw new CostingConfigException("storage: slides per year and bytes per slide must be positive, hot days and the re-read fraction not negative");
        }
    }
}
