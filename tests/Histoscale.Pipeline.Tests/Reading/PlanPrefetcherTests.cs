using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Reading;
using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Synthesis;

namespace Histoscale.Pipeline.Tests.Reading;

/// <summary>The prefetch hints cover exactly the stored tiles the plan will read next — no more (read amplification), no fewer.</summary>
public sealed class PlanPrefetcherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-prefetch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AlignedPlanHintsExactlyItsTilesAndLocalFilesSwitchItOff()
    {
        var path = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(path, new SynthOptions { Width = 7200, Height = 5760, TileSize = 240, Seed = 4 });
        var source = new RecordingSource(File.ReadAllBytes(path));
        using var slide = Slide.Open(source, new SlideOptions { Cache = null });
        var plan = TilePlanner.Create(slide, new TilePlanOptions { TileSize = 240, TargetMpp = 0.499, MinTissue = 0 }, null);
        Assert.True(plan.AlignedWithSlideTiles);
        Assert.True(plan.Tiles.Count > PlanPrefetcher.Lead + PlanPrefetcher.Chunk); // the first hint is a strict prefix
        var prefetcher = new PlanPrefetcher(new PlanTileReader(slide, plan), plan);
        prefetcher.OnClaim(0, 0, plan.Tiles.Count);
        var expected = plan.Tiles.Take(PlanPrefetcher.Lead + PlanPrefetcher.Chunk)
            .Select(t => slide.GetTileByteRange(0, t.Column, t.Row)).Where(r => r is not null).Select(r => r!.Value).ToHashSet();
        Assert.Equal(expected, source.Hinted.ToHashSet());

        using var local = Slide.Open(path, new SlideOptions { Cache = null });
        new PlanPrefetcher(new PlanTileReader(local, plan), plan).OnClaim(0, 0, plan.Tiles.Count); // no prefetching source: a no-op, no error
    }

    [Fact]
    public void TilesExcludedByQualityControlAreNotHinted()
    {
        var path = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(path, new SynthOptions { Width = 2400, Height = 1920, TileSize = 240, Seed = 4 });
        var source = new RecordingSource(File.ReadAllBytes(path));
        using var slide = Slide.Open(source, new SlideOptions { Cache = null });
        var plan = TilePlanner.Create(slide, new TilePlanOptions { TileSize = 240, TargetMpp = 0.499, MinTissue = 0 }, null);
        Assert.True(plan.AlignedWithSlideTiles);
        var exclusions = new byte[plan.Tiles.Count];
        for (var i = 0; i < exclusions.Length; i += 3)
        {
            exclusions[i] = 1; // every third tile: blur
        }
        new PlanPrefetcher(new PlanTileReader(slide, plan), plan, exclusions).OnClaim(0, 0, plan.Tiles.Count);
        var expected = plan.Tiles.Where((_, i) => exclusions[i] == 0)
            .Select(t => slide.GetTileByteRange(0, t.Column, t.Row)).Where(r => r is not null).Select(r => r!.Value).ToHashSet();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, source.Hinted.ToHashSet());
    }

    private sealed class RecordingSource(byte[] bytes) : IPrefetchingSource
    {
        private readonly MemorySource _inner = new(bytes, "recording");

        public List<ByteRange> Hinted { get; } = [];

        public string Name => _inner.Name;

        public long Length => _inner.Length;

        public int Read(long offset, Span<byte> buffer) => _inner.Read(offset, buffer);

        public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(offset, buffer, cancellationToken);

        public void Prefetch(IReadOnlyList<ByteRange> ranges) => Hinted.AddRange(ranges);

        public void Dispose() => _inner.Dispose();
    }
}
