using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Histoscale.Costing.Prices;

/// <summary>Walks the YAML node tree by hand so every error can name the row (index and id), the field and the line.</summary>
internal static class PriceTableReader
{
    private static readonly string[] Clouds = ["aws", "azure", "gcp"];
    private static readonly string[] Arches = ["x86_64", "arm64"];
    private static readonly string[] Tiers = ["hot", "cool", "archive"];

    public static PriceTable Read(string yaml, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new CostingConfigException($"{file}: not valid YAML at line {ex.Start.Line}: {ex.Message}", ex);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new CostingConfigException($"{file}: expected a mapping with date, currency, billing, assets and storage");
        }
        var top = new Row(file, "table", root);
        var date = top.Date("date");
        var currency = top.Text("currency");
        if (currency != "USD")
        {
            throw top.Error("currency", $"'{currency}' is not supported (every price is USD)");
        }

        var billing = new List<BillingRule>();
        foreach (var row in top.Rows("billing"))
        {
            billing.Add(new BillingRule
            {
                Id = row.Id,
                IncrementSeconds = row.Positive("incrementSeconds"),
                MinimumSeconds = row.NonNegative("minimumSeconds"),
                Source = row.Url("source"),
                Note = row.OptionalText("note"),
            });
        }
        Unique(file, "billing", billing.Select(b => b.Id));

        var assets = new List<AssetPrice>();
        foreach (var row in top.Rows("assets"))
        {
            var kindName = row.Text("class");
            if (!AssetKinds.TryParse(kindName, out var kind))
            {
                throw row.Error("class", $"'{kindName}' is not one of serverless-cpu, vm-cpu, vm-gpu");
            }
            var accelerator = row.OptionalText("accelerator");
            var gpus = row.OptionalInt("gpus") ?? 0;
            if (kind == AssetKind.VmGpu && (accelerator is null || gpus < 1))
            {
                throw row.Error(accelerator is null ? "accelerator" : "gpus", "a vm-gpu row needs an accelerator and gpus ≥ 1");
            }
            if (kind != AssetKind.VmGpu && (accelerator is not null || gpus != 0))
            {
                throw row.Error(accelerator is not null ? "accelerator" : "gpus", "only vm-gpu rows have an accelerator");
            }
            var billingId = row.Text("billing");
            if (!billing.Any(b => b.Id == billingId))
            {
                throw row.Error("billing", $"no billing rule '{billingId}' (the table has {string.Join(", ", billing.Select(b => b.Id))})");
            }
            double? published = null;
            Uri? throughputSource = null;
            string? throughputNote = null;
            if (row.OptionalRow("throughput") is { } t)
            {
                published = t.Positive("tilesPerSecondPerGpu");
                throughputSource = t.Url("source");
                throughputNote = t.OptionalText("note");
                if (kind != AssetKind.VmGpu)
                {
                    throw row.Error("throughput", "published throughput is for GPU rows; CPU rows are measured or scaled");
                }
            }
            assets.Add(new AssetPrice
            {
                Id = row.Id,
                Cloud = row.OneOf("cloud", Clouds),
                Kind = kind,
                InstanceType = row.Text("instanceType"),
                Accelerator = accelerator,
                GpuCount = gpus,
                Vcpus = row.PositiveInt("vcpus"),
                MemoryGiB = row.Positive("memoryGiB"),
                Arch = row.OneOf("arch", Arches),
                PricePerHour = row.Positive("pricePerHour"),
                Spot = row.OptionalBool("spot") ?? false,
                Region = row.Text("region"),
                Source = row.Url("source"),
                Read = row.Date("read"),
                Billing = billingId,
                PublishedTilesPerSecondPerGpu = published,
                ThroughputSource = throughputSource,
                ThroughputNote = throughputNote,
                StartupSeconds = row.OptionalNonNegative("startupSeconds"),
                Note = row.OptionalText("note"),
            });
        }
        Unique(file, "assets", assets.Select(a => a.Id));

        var storage = new List<StorageClassPrice>();
        foreach (var row in top.Rows("storage"))
        {
            storage.Add(new StorageClassPrice
            {
                Id = row.Id,
                Cloud = row.OneOf("cloud", Clouds),
                Name = row.Text("name"),
                Tier = row.OneOf("tier", Tiers),
                PerGbMonth = row.Positive("perGbMonth"),
                RetrievalPerGb = row.NonNegative("retrievalPerGb"),
                EgressPerGb = row.NonNegative("egressPerGb"),
                MinimumDays = row.OptionalNonNegative("minimumDays") ?? 0,
                Loading = row.OneOf("loading", [.. LoadingClass.All.Select(c => c.Name)]),
                RestoreHours = row.OptionalNonNegative("restoreHours") ?? 0,
                Region = row.Text("region"),
                Source = row.Url("source"),
                Read = row.Date("read"),
                Note = row.OptionalText("note"),
            });
        }
        Unique(file, "storage", storage.Select(s => s.Id));
        foreach (var cloud in storage.Select(s => s.Cloud).Distinct())
        {
            if (!storage.Any(s => s.Cloud == cloud && s.Tier == "hot"))
            {
                throw new CostingConfigException($"{file}: storage: cloud '{cloud}' has no hot class (the lifecycle starts hot)");
            }
        }
        return new PriceTable(date, currency, assets, storage, billing);
    }

    private static void Unique(string file, string section, IEnumerable<string> ids)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (!seen.Add(id))
            {
                throw new CostingConfigException($"{file}: {section}: id '{id}' appears twice");
            }
        }
    }

    /// <summary>One mapping node with the path used in its error messages.</summary>
    private sealed class Row(string file, string path, YamlMappingNode node)
    {
        public string Id => Text("id");

        private string Where(string field)
        {
            var id = path == "table" ? "" : node.Children.TryGetValue(new YamlScalarNode("id"), out var v) && v is YamlScalarNode s ? $" '{s.Value}'" : "";
            var line = node.Children.TryGetValue(new YamlScalarNode(field), out var f) ? f.Start.Line : node.Start.Line;
            return $"{file}: {path}{id}: field '{field}' (line {line})";
        }

        public CostingConfigException Error(string field, string message) => new($"{Where(field)}: {message}");

        private YamlNode? Get(string field) =>
            node.Children.TryGetValue(new YamlScalarNode(field), out var v) ? v : null;

        private string? Scalar(string field, bool required)
        {
            var v = Get(field);
            if (v is null || (v is YamlScalarNode { Value: null or "" } && v.Tag.IsEmpty))
            {
                return required ? throw Error(field, "is missing") : null;
            }
            if (v is not YamlScalarNode s)
            {
                throw Error(field, "must be a single value");
            }
            return s.Value;
        }

        public string Text(string field) => Scalar(field, required: true)!;

        public string? OptionalText(string field) => Scalar(field, required: false);

        public string OneOf(string field, string[] allowed)
        {
            var v = Text(field);
            return allowed.Contains(v) ? v : throw Error(field, $"'{v}' is not one of {string.Join(", ", allowed)}");
        }

        private double? Number(string field, bool required)
        {
            var s = Scalar(field, required);
            if (s is null)
            {
                return null;
            }
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            {
                throw Error(field, $"'{s}' is not a number");
            }
            return d;
        }

        public double Positive(string field)
        {
            var d = Number(field, true)!.Value;
            return d > 0 ? d : throw Error(field, $"must be positive, not {d.ToString(CultureInfo.InvariantCulture)}");
        }

        public double NonNegative(string field) => OptionalNonNegative(field) ?? throw Error(field, "is missing");

        public double? OptionalNonNegative(string field)
        {
            var d = Number(field, false);
            return d is null or >= 0 ? d : throw Error(field, $"must not be negative, not {d.Value.ToString(CultureInfo.InvariantCulture)}");
        }

        public int PositiveInt(string field) => OptionalInt(field) is { } i && i > 0 ? i : throw Error(field, "must be a whole number ≥ 1");

        public int? OptionalInt(string field)
        {
            var s = Scalar(field, false);
            if (s is null)
            {
                return null;
            }
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 ? i : throw Error(field, $"'{s}' is not a whole number ≥ 0");
        }

        public bool? OptionalBool(string field)
        {
            var s = Scalar(field, false);
            return s switch
            {
                null => null,
                "true" => true,
                "false" => false,
                _ => throw Error(field, $"'{s}' is not true or false"),
            };
        }

        public DateOnly Date(string field)
        {
            var s = Text(field);
            return DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : throw Error(field, $"'{s}' is not a date (YYYY-MM-DD)");
        }

        public Uri Url(string field)
        {
            var s = Text(field);
            return Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)
                ? u
                : throw Error(field, $"'{s}' is not an http(s) URL");
        }

        public Row? OptionalRow(string field) => Get(field) switch
        {
            null => null,
            YamlMappingNode m => new Row(file, $"{path}.{field}", m),
            _ => throw Error(field, "must be a mapping"),
        };

        public IEnumerable<Row> Rows(string field)
        {
            if (Get(field) is not YamlSequenceNode seq)
            {
                throw Error(field, "must be a list of rows");
            }
            var i = 0;
            foreach (var item in seq.Children)
            {
                if (item is not YamlMappingNode m)
                {
                    throw new CostingConfigException($"{file}: {field}[{i}] (line {item.Start.Line}): each row must be a mapping");
                }
                yield return new Row(file, $"{field}[{i}]", m);
                i++;
            }
        }
    }
}
