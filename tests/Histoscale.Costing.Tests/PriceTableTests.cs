using Histoscale.Costing;
using Histoscale.Costing.Prices;

namespace Histoscale.Costing.Tests;

public class PriceTableTests
{
    internal const string Minimal = """
        date: 2026-12-02
        currency: USD
        billing:
          - {id: per-second, incrementSeconds: 1, minimumSeconds: 60, source: "https://example.com/billing"}
          - {id: per-minute, incrementSeconds: 60, minimumSeconds: 60, source: "https://example.com/billing"}
        assets:
          - id: cpu-x86
            cloud: aws
            class: vm-cpu
            instanceType: c.xlarge
            vcpus: 4
            memoryGiB: 8
            arch: x86_64
            pricePerHour: 0.36
            region: us-east-1
            source: https://example.com/prices
            read: 2026-12-01
            billing: per-second
          - id: cpu-arm
            cloud: gcp
            class: vm-cpu
            instanceType: a.xlarge
            vcpus: 8
            memoryGiB: 16
            arch: arm64
            pricePerHour: 0.72
            region: us-central1
            source: https://example.com/prices
            read: 2026-12-01
            billing: per-minute
          - id: gpu
            cloud: azure
            class: vm-gpu
            instanceType: g.big
            accelerator: T4
            gpus: 2
            vcpus: 8
            memoryGiB: 32
            arch: x86_64
            pricePerHour: 1.8
            region: eastus
            source: https://example.com/prices
            read: 2026-12-01
            billing: per-second
            throughput: {tilesPerSecondPerGpu: 500, source: "https://example.com/mlperf"}
        storage:
          - {id: hot, cloud: aws, name: Hot, tier: hot, perGbMonth: 0.02, retrievalPerGb: 0, egressPerGb: 0.09, loading: object-standard, region: us-east-1, source: "https://example.com/s", read: 2026-12-01}
          - {id: cold, cloud: aws, name: Cold, tier: archive, perGbMonth: 0.002, retrievalPerGb: 0.03, egressPerGb: 0.09, loading: restore, restoreHours: 12, region: us-east-1, source: "https://example.com/s", read: 2026-12-01}
        """;

    internal static PriceTable Table() => PriceTable.Parse(Minimal, "test.yaml");

    [Fact]
    public void Parses_every_field_of_a_valid_table()
    {
        var t = Table();
        Assert.Equal(new DateOnly(2026, 12, 2), t.Date);
        Assert.Equal(3, t.Assets.Count);
        var gpu = t.Asset("gpu");
        Assert.Equal(AssetKind.VmGpu, gpu.Kind);
        Assert.Equal("vm-gpu", gpu.AssetClass);
        Assert.Equal(2, gpu.GpuCount);
        Assert.Equal(500, gpu.PublishedTilesPerSecondPerGpu);
        Assert.Equal(new Uri("https://example.com/mlperf"), gpu.ThroughputSource);
        Assert.Equal(new DateOnly(2026, 12, 1), gpu.Read);
        Assert.Equal("per-second", t.BillingOf(gpu).Id);
        Assert.Equal(12, t.Storage[1].RestoreHours);
        Assert.False(t.Asset("cpu-x86").Spot);
    }

    [Fact]
    public void The_repository_price_table_is_valid_and_covers_the_asset_classes_of_the_issue()
    {
        var t = PriceTable.Load(Path.Combine(AppContext.BaseDirectory, "data", "prices.yaml"));
        foreach (var cloud in new[] { "aws", "azure", "gcp" })
        {
            Assert.Contains(t.Assets, a => a.Cloud == cloud && a.Kind == AssetKind.ServerlessCpu);
            Assert.Contains(t.Assets, a => a.Cloud == cloud && a.Kind == AssetKind.VmCpu && a.Arch == "arm64");
            Assert.Contains(t.Assets, a => a.Cloud == cloud && a.Kind == AssetKind.VmCpu && a.Arch == "x86_64");
            Assert.Contains(t.Assets, a => a.Cloud == cloud && a.Kind == AssetKind.VmGpu);
            foreach (var tier in new[] { "hot", "cool", "archive" })
            {
                Assert.Contains(t.Storage, s => s.Cloud == cloud && s.Tier == tier);
            }
        }
        foreach (var gpu in new[] { "T4", "L4", "A10G", "A100", "H100" })
        {
            Assert.Contains(t.Assets, a => a.Accelerator == gpu);
        }
        Assert.Contains(t.Assets, a => a.Spot);
        foreach (var id in new[] { "aws-fargate-arm64-4vcpu", "aws-g5-xlarge-a10g", "azure-nc4as-t4-v3", "gcp-g2-standard-4-l4" })
        {
            Assert.Equal(id, t.Asset(id).Id);
        }
    }

    [Theory]
    [InlineData("pricePerHour: 0.36", "pricePerHour: abc", "assets[0] 'cpu-x86': field 'pricePerHour'", "not a number")]
    [InlineData("pricePerHour: 0.36", "pricePerHour: -1", "assets[0] 'cpu-x86': field 'pricePerHour'", "must be positive")]
    [InlineData("    pricePerHour: 0.72\n", "", "assets[1] 'cpu-arm': field 'pricePerHour'", "is missing")]
    [InlineData("arch: arm64", "arch: sparc", "assets[1] 'cpu-arm': field 'arch'", "not one of x86_64, arm64")]
    [InlineData("read: 2026-12-01\n    billing: per-minute", "read: 1 Dec 2026\n    billing: per-minute", "assets[1] 'cpu-arm': field 'read'", "not a date")]
    [InlineData("billing: per-minute\n", "billing: hourly\n", "assets[1] 'cpu-arm': field 'billing'", "no billing rule 'hourly'")]
    [InlineData("source: https://example.com/prices\n    read: 2026-12-01\n    billing: per-second\n    throughput", "source: ftp://x\n    read: 2026-12-01\n    billing: per-second\n    throughput", "assets[2] 'gpu': field 'source'", "not an http(s) URL")]
    [InlineData("    accelerator: T4\n", "", "assets[2] 'gpu': field 'accelerator'", "needs an accelerator")]
    [InlineData("class: vm-cpu\n    instanceType: c.xlarge", "class: vm-tpu\n    instanceType: c.xlarge", "assets[0] 'cpu-x86': field 'class'", "not one of serverless-cpu")]
    [InlineData("id: cpu-arm", "id: cpu-x86", "assets: id 'cpu-x86' appears twice", "")]
    [InlineData("tier: archive", "tier: frozen", "storage[1] 'cold': field 'tier'", "not one of hot, cool, archive")]
    [InlineData("perGbMonth: 0.002", "perGbMonth: 0", "storage[1] 'cold': field 'perGbMonth'", "must be positive")]
    [InlineData("currency: USD", "currency: EUR", "table: field 'currency'", "not supported")]
    [InlineData("loading: restore", "loading: tape", "storage[1] 'cold': field 'loading'", "not one of local-nvme")]
    public void A_bad_row_is_an_error_naming_the_file_row_and_field(string from, string to, string where, string what)
    {
        Assert.Contains(from, Minimal);
        var yaml = Minimal.Replace(from, to, StringComparison.Ordinal);
        var ex = Assert.Throws<CostingConfigException>(() => PriceTable.Parse(yaml, "test.yaml"));
        Assert.StartsWith("test.yaml: ", ex.Message);
        Assert.Contains(where, ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void Errors_give_the_line_and_bad_yaml_is_a_config_error()
    {
        var ex = Assert.Throws<CostingConfigException>(() => PriceTable.Parse(Minimal.Replace("pricePerHour: 1.8", "pricePerHour: x", StringComparison.Ordinal), "t.yaml"));
        var line = Minimal.Split('\n').ToList().FindIndex(l => l.Contains("pricePerHour: 1.8", StringComparison.Ordinal)) + 1;
        Assert.Contains($"(line {line})", ex.Message);
        Assert.Throws<CostingConfigException>(() => PriceTable.Parse("assets: [unclosed", "t.yaml"));
        Assert.Throws<CostingConfigException>(() => PriceTable.Load("/nonexistent/prices.yaml"));
        var unknown = Assert.Throws<CostingConfigException>(() => Table().Asset("cpu"));
        Assert.Contains("did you mean cpu-x86, cpu-arm", unknown.Message);
    }

    [Theory]
    [InlineData(1, 60, 0.5, 60)]
    [InlineData(1, 60, 60.2, 61)]
    [InlineData(60, 60, 61, 120)]
    [InlineData(1, 0, 0, 0)]
    [InlineData(60, 60, 3600, 3600)]
    public void Billing_rounds_up_to_the_increment_with_a_minimum(double increment, double minimum, double ran, double billed)
    {
        var rule = new BillingRule { Id = "r", IncrementSeconds = increment, MinimumSeconds = minimum, Source = new Uri("https://example.com") };
        Assert.Equal(billed, rule.BilledSeconds(ran), 9);
    }
}
