using Histoscale.Slides.Caching;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Reading;

public sealed class ConcurrencyAndCacheTests
{
    [Fact]
    public void ManyThreadsReadingOneSlideGetTheSamePixelsAsOne()
    {
        using var slide = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = new TileCache(8L * 1024 * 1024) });
        var rng = new Random(5);
        var regions = Enumerable.Range(0, 64).Select(_ => (X: rng.Next(-100, 1500), Y: rng.Next(-100, 1100), W: rng.Next(1, 400), H: rng.Next(1, 400), L: rng.Next(slide.Levels.Count))).ToArray();
        var expected = regions.Select(r => Sha(slide.ReadRegion(r.L, r.X, r.Y, r.W, r.H).Pixels)).ToArray();
        var results = new string[8][];
        Parallel.For(0, 8, t =>
        {
            results[t] = new string[regions.Length];
            for (var k = 0; k < regions.Length; k++)
            {
                var i = (k + (t * 7)) % regions.Length;
                var r = regions[i];
                results[t][i] = Sha(slide.ReadRegion(r.L, r.X, r.Y, r.W, r.H).Pixels);
            }
        });
        foreach (var r in results)
        {
            Assert.Equal(expected, r);
        }
    }

    [Fact]
    public void ATinyCacheRecyclingPooledTilesUnderManyThreadsNeverMixesPixels()
    {
        // Three tiles' room: nearly every read evicts a tile another thread may still be copying from, and the
        // evicted buffers go straight back to the pool for the next decode. Reference counting must keep them apart.
        using var reference = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        var tileBytes = reference.Levels[0].TileWidth * reference.Levels[0].TileHeight * 4L;
        using var slide = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = new TileCache(3 * tileBytes) });
        var rng = new Random(11);
        var regions = Enumerable.Range(0, 48).Select(_ => (X: rng.Next(0, 1400), Y: rng.Next(0, 1000), W: rng.Next(100, 500), H: rng.Next(100, 500))).ToArray();
        var expected = regions.Select(r => Sha(reference.ReadRegion(0, r.X, r.Y, r.W, r.H).Pixels)).ToArray();
        var mismatches = 0;
        Parallel.For(0, 8, t =>
        {
            for (var pass = 0; pass < 3; pass++)
            {
                for (var k = 0; k < regions.Length; k++)
                {
                    var i = (k + (t * 5)) % regions.Length;
                    var r = regions[i];
                    if (Sha(slide.ReadRegion(0, r.X, r.Y, r.W, r.H).Pixels) != expected[i])
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                }
            }
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void APooledTileOutlivesItsEvictionUntilTheLastHolderReleasesIt()
    {
        var cache = new TileCache(1024);
        var tile = CachedTile.Rent(1000);
        Assert.Equal(1024, tile.Bytes); // what the pool really hands out is what the budget counts
        tile.Rgba.AsSpan(0, 1000).Fill(7);
        Assert.True(cache.Add(new TileKey(1, 0, 0, 0), tile));
        Assert.True(cache.TryGet(new TileKey(1, 0, 0, 0), out var held));
        tile.Release(); // the creator is done
        Assert.True(cache.Add(new TileKey(1, 0, 1, 0), new CachedTile(new byte[1024], TileStatus.Decoded))); // evicts the first
        Assert.False(cache.TryGet(new TileKey(1, 0, 0, 0), out _));
        Assert.All(held.Rgba.AsSpan(0, 1000).ToArray(), b => Assert.Equal(7, b)); // still ours
        held.Release();
        Assert.Throws<ObjectDisposedException>(() => held.Rgba);
        Assert.Throws<InvalidOperationException>(held.Release);
    }

    [Fact]
    public void CacheIsBoundedInBytesAndEvictsLeastRecentlyUsed()
    {
        var cache = new TileCache(3 * 1000);
        var a = new TileKey(1, 0, 0, 0);
        var b = new TileKey(1, 0, 1, 0);
        var c = new TileKey(1, 0, 2, 0);
        var d = new TileKey(1, 0, 3, 0);
        cache.Add(a, new CachedTile(new byte[1000], TileStatus.Decoded));
        cache.Add(b, new CachedTile(new byte[1000], TileStatus.Decoded));
        cache.Add(c, new CachedTile(new byte[1000], TileStatus.Decoded));
        Assert.True(cache.TryGet(a, out _)); // a is now most recent; b is the oldest
        cache.Add(d, new CachedTile(new byte[1000], TileStatus.Decoded));
        Assert.False(cache.TryGet(b, out _));
        Assert.True(cache.TryGet(a, out _));
        Assert.True(cache.TryGet(c, out _));
        Assert.True(cache.TryGet(d, out _));
        Assert.Equal(3000, cache.Bytes);
        cache.Add(new TileKey(1, 0, 9, 9), new CachedTile(new byte[5000], TileStatus.Decoded)); // larger than the cache: ignored
        Assert.Equal(3000, cache.Bytes);
        cache.Resize(1500); // shrinking evicts least recent first: c, then a; d stays
        Assert.Equal(1000, cache.Bytes);
        Assert.True(cache.TryGet(d, out _));
        Assert.False(cache.TryGet(c, out _));
    }

    [Fact]
    public void RepeatedRegionsHitTheCacheAndClosingEvicts()
    {
        var cache = new TileCache();
        using (var slide = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = cache }))
        {
            slide.ReadRegion(0, 0, 0, 480, 480);
            var misses = cache.Misses;
            slide.ReadRegion(0, 10, 10, 400, 400);
            Assert.Equal(misses, cache.Misses);
            Assert.True(cache.Hits >= 4);
            Assert.True(cache.Bytes > 0);
        }
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void ReadTileMatchesRegionAndEdgesAreTransparent()
    {
        using var slide = Slide.Open(TestSlides.Svs);
        var level = slide.Levels[0];
        var col = level.TilesAcross - 1;
        var row = level.TilesDown - 1;
        var tile = slide.ReadTile(0, col, row);
        var region = slide.ReadRegion(0, col * level.TileWidth, row * level.TileHeight, level.TileWidth, level.TileHeight);
        Assert.Equal(region.Pixels, tile.Pixels);
        var validW = (int)(level.Width - (col * level.TileWidth));
        Assert.True(validW < level.TileWidth);
        Assert.Equal(0, tile.Pixels[(validW * 4) + 3]); // first pixel past the right edge: transparent
        Assert.Equal(255, tile.Pixels[((validW - 1) * 4) + 3]);
    }

    [Fact]
    public void RgbRegionPaintsOutsideWithFill()
    {
        using var slide = Slide.Open(TestSlides.Svs);
        var rgb = new byte[20 * 10 * 3];
        slide.ReadRegionRgb(0, -10, 0, 20, 10, rgb, (1, 2, 3));
        Assert.Equal([1, 2, 3], rgb[..3]);
        var rgba = slide.ReadRegion(0, 0, 0, 1, 1).Pixels;
        Assert.Equal(rgba[..3], rgb.AsSpan(30, 3).ToArray()); // x = 10 in the output is x = 0 of the slide
    }

    [Fact]
    public void RgbRegionAtAFractionalPositionEqualsTheRgbaRegion()
    {
        using var slide = Slide.Open(TestSlides.Svs);
        var (w, h) = (150, 90);
        var rgba = slide.ReadRegion(1, 401, 203, w, h).Pixels; // 401/4 and 203/4 are off the level's grid
        var rgb = new byte[w * h * 3];
        slide.ReadRegionRgb(1, 401, 203, w, h, rgb);
        for (var i = 0; i < w * h; i++)
        {
            Assert.Equal(255, rgba[(i * 4) + 3]);
            Assert.True(rgb.AsSpan(i * 3, 3).SequenceEqual(rgba.AsSpan(i * 4, 3)), $"pixel {i}");
        }
    }

    [Fact]
    public void LosslessSlideRegionIsExactlyTheSynthesisedPixels()
    {
        using var slide = Slide.Open(TestSlides.LzwTiff);
        var tissue = new Histoscale.Synthesis.SyntheticTissue(900, 700, 4);
        var rgb = new byte[300 * 200 * 3];
        tissue.Render(123, 45, 300, 200, rgb, 300 * 3);
        var rgba = slide.ReadRegion(0, 123, 45, 300, 200).Pixels;
        for (var i = 0; i < 300 * 200; i++)
        {
            Assert.True(rgba[i * 4] == rgb[i * 3] && rgba[(i * 4) + 1] == rgb[(i * 3) + 1] && rgba[(i * 4) + 2] == rgb[(i * 3) + 2], $"pixel {i}");
        }
    }

    [Fact]
    public void ThumbnailFitsTheRequestedSize()
    {
        using var slide = Slide.Open(TestSlides.Svs);
        var thumb = slide.GetThumbnail(300);
        Assert.Equal(300, thumb.Width);
        Assert.Equal((int)Math.Round(1100 * 300 / 1500.0), thumb.Height);
        Assert.All(Enumerable.Range(0, thumb.Width * thumb.Height), i => Assert.Equal(255, thumb.Pixels[(i * 4) + 3]));
    }

    [Fact]
    public void SubIfdPyramidExposesEveryLevel()
    {
        using var slide = Slide.Open(TestSlides.SubIfd);
        Assert.Equal("generic-tiff", slide.Format);
        Assert.True(slide.Levels.Count >= 3);
        Assert.Equal(2.0, slide.Levels[1].Downsample, 2);
        Assert.Equal(0.25, slide.MppX!.Value, 6);
        var small = slide.ReadRegion(slide.Levels.Count - 1, 0, 0, 50, 40);
        Assert.Equal(255, small.Pixels[3]);
    }

    private static string Sha(byte[] bytes) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes));
}
