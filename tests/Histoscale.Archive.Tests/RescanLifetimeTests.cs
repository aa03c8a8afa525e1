using Histoscale.Archive.Api;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tiles;
using Histoscale.Synthesis;

namespace Histoscale.Archive.Tests;

/// <summary>A rescan that replaces a slide closes its old reader only when the requests reading it have finished.</summary>
public sealed class RescanLifetimeTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hs-rescan-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    [Fact]
    public void A_slide_replaced_by_a_rescan_stays_readable_for_a_request_holding_it_and_its_renders_keep_their_own_cache_key()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "gamma")).FullName;
        var file = Path.Combine(folder, "s.tif");
        Synth(file, 512, 384, seed: 31);
        using var catalog = new SlideCatalog(new ArchiveOptions { Collections = [new("gamma", folder)], Database = "unused" });
        catalog.Scan();
        var id = Assert.Single(catalog.All).Id;

        Assert.True(catalog.TryLease(id, out var before, out var lease)); // a request in flight
        // The file is replaced (written aside, then renamed over it, as copies and syncs do) and rescanned.
        var replacement = Path.Combine(_root, "s.new.tif");
        Synth(replacement, 640, 480, seed: 32);
        File.Move(replacement, file, overwrite: true);
        catalog.Scan();
        Assert.True(catalog.TryGet(id, out var after));
        Assert.Equal(640, after.Slide.Width);

        // The request finishes its render on the reader it started with: no ObjectDisposedException.
        Assert.False(before.Reader.IsClosed);
        var tile = TileRenderer.DeepZoomTile(before.Slide, before.Geometry, before.Geometry.MaxLevel, 0, 0, Slides.Imaging.ImageFileFormat.Jpeg);
        Assert.NotEmpty(tile.Bytes);
        // ...and stores it under the old file's key, where a request for the new file never finds it.
        var cache = new EncodedTileCache(1 << 20);
        cache.Add(SlideEndpoints.CacheKey(before, "dz/9/0/0"), tile.Bytes);
        Assert.False(cache.TryGet(SlideEndpoints.CacheKey(after, "dz/9/0/0"), out _));

        lease.Dispose();
        Assert.True(before.Reader.IsClosed); // closed once its last request let go
        Assert.ThrowsAny<Exception>(() => before.Slide.ReadRegion(0, 0, 0, 16, 16)); // the file is closed
        Assert.False(after.Reader.IsClosed);
        Assert.True(catalog.TryLease(id, out var again, out var second));
        using (second)
        {
            Assert.Same(after.Reader, again.Reader);
        }
    }

    private static void Synth(string path, int width, int height, int seed) =>
        SlideSynthesizer.Write(path, new SynthOptions { Width = width, Height = height, TileSize = 128, Layout = SynthLayout.Tiff, Seed = seed, MaxDegreeOfParallelism = 2 });
}
