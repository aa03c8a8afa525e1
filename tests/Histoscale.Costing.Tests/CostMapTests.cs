using Histoscale.Costing;
using Histoscale.Costing.Map;

namespace Histoscale.Costing.Tests;

public class CostMapTests
{
    [Fact]
    public void Rows_follow_the_formula_on_hand_computed_cases()
    {
        var rows = CostMap.Compute(PriceTableTests.Table(), new CostInputs
        {
            TilesPerSlide = 3600,
            SlidesPerYear = 1000,
            MeasuredTilesPerSecondPerVcpu = 2.5,
            MeasuredArch = "x86_64",
        });

        // cpu-x86: 4 vCPU × 2.5 = 10 tiles/s; 0.36 $/h / 3600 × 3600 tiles / 10 tiles/s = 0.036 $/slide;
        // 10 × 3600 / 3600 = 10 slides/h; 0.036 × 1000 = 36 $/year.
        var x86 = rows.Single(r => r.Id == "cpu-x86");
        Assert.Equal(10, x86.TilesPerSecond!.Value, 9);
        Assert.Equal(ThroughputSource.Measured, x86.ThroughputSource);
        Assert.Equal(0.036, x86.DollarsPerSlide!.Value, 9);
        Assert.Equal(10, x86.SlidesPerHour!.Value, 9);
        Assert.Equal(36, x86.DollarsPerYear!.Value, 9);

        // cpu-arm: other architecture, same rule: 8 × 2.5 = 20 tiles/s, 0.72/3600 × 3600/20 = 0.036, 20 slides/h.
        var arm = rows.Single(r => r.Id == "cpu-arm");
        Assert.Equal(ThroughputSource.Scaled, arm.ThroughputSource);
        Assert.Equal(20, arm.TilesPerSecond!.Value, 9);
        Assert.Equal(0.036, arm.DollarsPerSlide!.Value, 9);
        Assert.Equal(20, arm.SlidesPerHour!.Value, 9);

        // gpu: 2 GPUs × 500 = 1000 tiles/s; 1.8/3600 × 3600/1000 = 0.0018 $/slide; 1000 slides/h; 1.8 $/year.
        var gpu = rows.Single(r => r.Id == "gpu");
        Assert.Equal(ThroughputSource.Published, gpu.ThroughputSource);
        Assert.Equal(1000, gpu.TilesPerSecond!.Value, 9);
        Assert.Equal(0.0018, gpu.DollarsPerSlide!.Value, 12);
        Assert.Equal(1000, gpu.SlidesPerHour!.Value, 9);
        Assert.Equal(1.8, gpu.DollarsPerYear!.Value, 9);
        Assert.Equal("T4", gpu.Accelerator);
        Assert.Equal(8, gpu.Vcpus);
    }

    [Fact]
    public void Given_figures_win_unknown_stays_empty_and_the_gpu_factor_makes_rows_scaled()
    {
        var table = PriceTableTests.Table();
        var rows = CostMap.Compute(table, new CostInputs
        {
            TilesPerSlide = 100,
            SlidesPerYear = 10,
            GivenTilesPerSecond = new Dictionary<string, double> { ["gpu"] = 50 },
        });
        Assert.Equal(ThroughputSource.Given, rows.Single(r => r.Id == "gpu").ThroughputSource);
        Assert.Equal(1.8 / 3600 * 100 / 50, rows.Single(r => r.Id == "gpu").DollarsPerSlide!.Value, 12);
        var cpu = rows.Single(r => r.Id == "cpu-x86");
        Assert.Equal(ThroughputSource.Unknown, cpu.ThroughputSource);
        Assert.Null(cpu.TilesPerSecond);
        Assert.Null(cpu.DollarsPerSlide);

        var scaled = CostMap.Compute(table, new CostInputs { TilesPerSlide = 100, SlidesPerYear = 10, GpuFactor = 0.1 }).Single(r => r.Id == "gpu");
        Assert.Equal(ThroughputSource.Scaled, scaled.ThroughputSource);
        Assert.Equal(100, scaled.TilesPerSecond!.Value, 9);

        Assert.Throws<CostingConfigException>(() => CostMap.Compute(table, new CostInputs { TilesPerSlide = 100, SlidesPerYear = 10, GivenTilesPerSecond = new Dictionary<string, double> { ["nope"] = 5 } }));
        Assert.Throws<CostingConfigException>(() => CostMap.Compute(table, new CostInputs { TilesPerSlide = 0, SlidesPerYear = 10 }));
    }

    [Fact]
    public void The_recommendation_is_the_cheapest_row_that_meets_the_turnaround_on_one_instance()
    {
        var rows = CostMap.Compute(PriceTableTests.Table(), new CostInputs { TilesPerSlide = 36_000, SlidesPerYear = 1, MeasuredTilesPerSecondPerVcpu = 2.5 });
        // cpu-x86 takes 3600 s a slide, cpu-arm 1800 s, gpu 36 s; all cost 0.36 $/slide but the GPU (0.018).
        Assert.Equal("gpu", CostMap.CheapestMeeting(rows, 36_000, TimeSpan.FromHours(1))!.Id);
        Assert.Null(CostMap.CheapestMeeting(rows, 36_000, TimeSpan.FromSeconds(10)));
        var cpuOnly = rows.Where(r => r.Id != "gpu").ToList();
        Assert.Equal("cpu-arm", CostMap.CheapestMeeting(cpuOnly, 36_000, TimeSpan.FromMinutes(45))!.Id);
    }

    [Fact]
    public void Storage_lines_price_the_hot_days_and_the_cold_rest_per_lifecycle()
    {
        // 365 slides a year of 1 GB, 30 hot days: 30 GB hot, 335 GB cold.
        var lines = StorageCost.Compute(PriceTableTests.Table(), new StorageInputs { SlidesPerYear = 365, BytesPerSlide = 1e9, HotDays = 30, RereadFraction = 0.1 });
        Assert.Equal(2, lines.Count);
        var hot = lines[0];
        Assert.Equal("hot", hot.Lifecycle);
        Assert.Equal(12 * 365 * 0.02, hot.DollarsPerYear, 9);
        var archive = lines[1];
        Assert.Equal("cold", archive.ColdClass);
        Assert.Equal(0.030, archive.HotTB, 12);
        Assert.Equal(12 * (30 * 0.02 + 335 * 0.002) + 335 * 0.1 * 0.03, archive.DollarsPerYear, 9);
        Assert.Equal(archive.DollarsPerYear / 365, archive.DollarsPerSlide, 12);
        Assert.Equal("restore", archive.Loading);
        Assert.Null(archive.FirstByteMs);
        Assert.Equal(30, hot.FirstByteMs);          // object-standard, as docs/data-loading.md emulates it
        Assert.Equal(100, hot.StreamMegabytesPerSecond);
        Assert.Equal(12, archive.RestoreHours);

        var big = StorageCost.Compute(PriceTableTests.Table(), new StorageInputs { SlidesPerYear = 1.5e6, BytesPerSlide = 3.5e15 / 1.5e6 });
        Assert.All(big, l => Assert.Equal(3500, l.StoredTB, 6));
    }
}
