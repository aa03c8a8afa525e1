namespace Histoscale.Costing.Prices;

/// <summary>
/// The dated price table (<c>data/prices.yaml</c>): one row per asset, storage classes per cloud and the billing
/// rules, each row with its source page, region and the date it was read. Load it with <see cref="Load"/> or
/// <see cref="Parse"/>; both validate every row and name the row and field of the first problem.
/// </summary>
public sealed class PriceTable
{
    internal PriceTable(DateOnly date, string currency, IReadOnlyList<AssetPrice> assets, IReadOnlyList<StorageClassPrice> storage, IReadOnlyList<BillingRule> billing)
    {
        Date = date;
        Currency = currency;
        Assets = assets;
        Storage = storage;
        Billing = billing;
    }

    /// <summary>The table's date: when its figures were last read as a whole.</summary>
    public DateOnly Date { get; }

    /// <summary>Currency of every price (USD).</summary>
    public string Currency { get; }

    /// <summary>Compute assets, in table order.</summary>
    public IReadOnlyList<AssetPrice> Assets { get; }

    /// <summary>Storage classes, in table order.</summary>
    public IReadOnlyList<StorageClassPrice> Storage { get; }

    /// <summary>Billing rules referenced by the assets.</summary>
    public IReadOnlyList<BillingRule> Billing { get; }

    /// <summary>The asset with id <paramref name="id"/>; a <see cref="CostingConfigException"/> listing close ids when none.</summary>
    public AssetPrice Asset(string id)
    {
        foreach (var a in Assets)
        {
            if (string.Equals(a.Id, id, StringComparison.Ordinal))
            {
                return a;
            }
        }
        var close = Assets.Where(a => a.Id.Contains(id, StringComparison.OrdinalIgnoreCase) || id.Contains(a.Id, StringComparison.OrdinalIgnoreCase)).Select(a => a.Id).Take(5).ToList();
        throw new CostingConfigException($"unknown asset '{id}'" + (close.Count > 0 ? $" (did you mean {string.Join(", ", close)}?)" : "") + "; `histoscale cost --list-assets` lists them");
    }

    /// <summary>The billing rule of <paramref name="asset"/>.</summary>
    public BillingRule BillingOf(AssetPrice asset) => Billing.First(b => b.Id == asset.Billing);

    /// <summary>Reads and validates a price table file.</summary>
    public static PriceTable Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CostingConfigException($"{path}: price table not found");
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates price table YAML; <paramref name="name"/> is the file name errors start with.</summary>
    public static PriceTable Parse(string yaml, string name) => PriceTableReader.Read(yaml, name);
}
