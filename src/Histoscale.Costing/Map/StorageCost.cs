using Histoscale.Costing.Prices;

namespace Histoscale.Costing.Map;

/// <summary>Prices keeping the archive per cloud and lifecycle: always hot, or hot for N days then each colder class.</summary>
public static class StorageCost
{
    /// <summary>Bytes per GB as the providers bill storage here (decimal; GCP's GiB differs by 7 %, stated in docs/cost.md).</summary>
    public const double BytesPerGb = 1e9;

    /// <summary>
    /// One line per cloud and lifecycle. The hot part is the latest <see cref="StorageInputs.HotDays"/> of intake
    /// (capped at what is stored); the rest sits in the cold class. A year costs 12 × (hot GB × hot price + cold GB ×
    /// cold price) + re-read GB × the cold class's retrieval fee.
    /// </summary>
    public static IReadOnlyList<StorageLine> Compute(PriceTable table, StorageInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(inputs);
        inputs.Validate();
        var stored = inputs.StoredBytes ?? inputs.SlidesPerYear * inputs.BytesPerSlide;
        var hotBytes = Math.Min(stored, inputs.SlidesPerYear * inputs.HotDays / 365.0 * inputs.BytesPerSlide);
        var lines = new List<StorageLine>();
        foreach (var cloud in table.Storage.Select(s => s.Cloud).Distinct())
        {
            var hot = table.Storage.First(s => s.Cloud == cloud && s.Tier == "hot");
            lines.Add(Line(cloud, "hot", hot, hot, stored, stored, inputs));
            foreach (var cold in table.Storage.Where(s => s.Cloud == cloud && s.Tier != "hot"))
            {
                lines.Add(Line(cloud, $"hot {inputs.HotDays:0.#} d → {cold.Tier} ({cold.Name})", hot, cold, stored, hotBytes, inputs));
            }
        }
        return lines;
    }

    private static StorageLine Line(string cloud, string lifecycle, StorageClassPrice hot, StorageClassPrice cold, double stored, double hotBytes, StorageInputs inputs)
    {
        var coldBytes = stored - hotBytes;
        var perYear = 12 * (hotBytes / BytesPerGb * hot.PerGbMonth + coldBytes / BytesPerGb * cold.PerGbMonth)
            + coldBytes * inputs.RereadFraction / BytesPerGb * cold.RetrievalPerGb;
        return new StorageLine
        {
            Cloud = cloud,
            Lifecycle = lifecycle,
            HotClass = hot.Id,
            ColdClass = cold.Id,
            StoredTB = stored / 1e12,
            HotTB = hotBytes / 1e12,
            DollarsPerYear = perYear,
            DollarsPerSlide = perYear / inputs.SlidesPerYear,
            RetrievalPerGb = cold.RetrievalPerGb,
            EgressPerGb = cold.EgressPerGb,
            Loading = cold.Loading,
            FirstByteMs = LoadingClass.Find(cold.Loading)?.FirstByteMs,
            StreamMegabytesPerSecond = LoadingClass.Find(cold.Loading)?.StreamMegabytesPerSecond,
            RestoreHours = cold.RestoreHours,
        };
    }
}
