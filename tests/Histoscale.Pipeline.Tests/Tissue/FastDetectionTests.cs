using System.Collections.Concurrent;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;
using Histoscale.Slides.Caching;
using Histoscale.Slides.Sources;
using Histoscale.Synthesis;

namespace Histoscale.Pipeline.Tests.Tissue;

/// <summary>
/// Tissue detection reads its level's tiles in parallel and segments with vectorised, banded passes: the masks must
/// be exactly those of the plain definition (saturation, Otsu, clipped-window closing then opening, one pixel at a
/// time), and no tile of any other level may be read.
/// </summary>
public class FastDetectionTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 2)]
    [InlineData(3, 5)]
    [InlineData(4, 33)] // a radius wider than a vector
    public void SegmentationMatchesThePlainDefinition(int seed, int radius)
    {
        var rng = new Random(seed);
        // Odd sizes so rows are no multiple of a vector and bands are uneven.
        foreach (var (w, h) in new[] { (1, 1), (7, 3), (131, 97), (517, 203) })
        {
            var rgba = RandomTissue(rng, w, h);
            var options = new TissueOptions { CloseRadius = radius, OpenRadius = Math.Max(0, radius - 1) };
            var expected = Reference(rgba, w, h, options);
            foreach (var parallelism in new[] { 1, 3 })
            {
                var (mask, threshold) = TissueDetector.Segment(rgba, w, h, options, parallelism);
                Assert.Equal(expected.Threshold, threshold);
                Assert.True(expected.Mask.AsSpan().SequenceEqual(mask), $"{w}x{h} radius {radius} parallelism {parallelism}");
            }
            var (serial, _) = TissueDetector.Segment(rgba.AsSpan(), w, h, options);
            Assert.True(expected.Mask.AsSpan().SequenceEqual(serial), $"{w}x{h} radius {radius} (span overload)");
        }
    }

    [Theory]
    [InlineData(SynthLayout.Svs, 1500, 1100)]
    [InlineData(SynthLayout.Tiff, 1300, 900)]
    public void SlideMasksMatchThePlainDefinitionOnTheThumbnail(SynthLayout layout, int width, int height)
    {
        using var slide = Slide.Open(TestData.Slide(seed: 5, width: width, height: height, layout: layout));
        var options = new TissueOptions { ThumbnailSize = 512 };
        var mask = TissueDetector.Detect(slide, options);
        // The slide's own thumbnailer (area averaging through the tile cache) is the reference image.
        var thumb = slide.GetThumbnail(Math.Max(mask.Width, mask.Height));
        Assert.Equal((thumb.Width, thumb.Height), (mask.Width, mask.Height));
        Assert.True(TissueDetector.DetectionImage(slide, Math.Max(mask.Width, mask.Height), 3).Pixels.AsSpan().SequenceEqual(thumb.Pixels));
        var expected = Reference(thumb.Pixels, thumb.Width, thumb.Height, options);
        Assert.True(expected.Mask.AsSpan().SequenceEqual(mask.Mask.AsSpan(0, mask.Width * mask.Height)));
        Assert.InRange(mask.TissueFraction, 0.05, 0.95);
    }

    [Fact]
    public void DetectionReadsOnlyItsLevelOnceAndLeavesTheTileCacheAlone()
    {
        var path = TestData.Slide(seed: 6, width: 3000, height: 2200); // 4× levels: 3000, 750 (detection), 187
        using var source = new CountingSource(new LocalFileSource(path));
        var cache = new TileCache();
        using var slide = Slide.Open(source, new SlideOptions { Cache = cache });
        source.Reads.Clear(); // the header
        var mask = TissueDetector.Detect(slide, new TissueOptions { ThumbnailSize = 1024 });

        var detection = slide.Levels.Single(l => l.Width == mask.Width);
        Assert.NotEqual(0, detection.Index);
        var reads = source.Reads.ToArray();
        for (var level = 0; level < slide.Levels.Count; level++)
        {
            var l = slide.Levels[level];
            for (long row = 0; row < l.TilesDown; row++)
            {
                for (long col = 0; col < l.TilesAcross; col++)
                {
                    if (slide.GetTileByteRange(level, col, row) is not { } range)
                    {
                        continue;
                    }
                    var hits = reads.Count(r => r.Offset < range.Offset + range.Length && range.Offset < r.Offset + r.Length);
                    Assert.True(level == detection.Index ? hits == 1 : hits == 0, $"level {level} tile ({col},{row}) read {hits} times");
                }
            }
        }
        // A viewer's cache is not churned by a pass that reads each tile once.
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ACorruptDetectionTileIsUnknownCountedAsTissueAndNamesItself()
    {
        using var dir = new TempDir();
        var path = dir["damaged.svs"];
        var bytes = File.ReadAllBytes(TestData.Slide(seed: 6, width: 3000, height: 2200));
        using (var healthy = Slide.Open(TestData.Slide(seed: 6, width: 3000, height: 2200)))
        {
            // Level 1 (the detection level) tile (1,0) loses its JPEG start-of-image marker.
            var range = healthy.GetTileByteRange(1, 1, 0)!.Value;
            bytes[range.Offset] = 0;
            bytes[range.Offset + 1] = 0;
        }
        File.WriteAllBytes(path, bytes);
        using var slide = Slide.Open(path);
        // Not a failure of the whole detection: the tile is background and counted (the run decides against --max-bad-tiles).
        var mask = TissueDetector.Detect(slide, new TissueOptions { ThumbnailSize = 1024 });
        Assert.Equal(1, mask.UnreadableTiles);
        Assert.True(mask.DetectionTiles > 1);
        var cause = Assert.Single(mask.UnreadableCauses);
        Assert.Contains("damaged.svs", cause);
        Assert.Contains("level 1 tile (1,0)", cause);
        // What the tile covers is unknown: tissue, so inference reads it at its own level rather than dropping it.
        var level = slide.Levels[1];
        Assert.Equal(level.Width, mask.Width);
        AssertTissue(mask, level.TileWidth, 0, (int)Math.Min(level.TileWidth, mask.Width - level.TileWidth), (int)Math.Min(level.TileHeight, mask.Height));
        using var intact = Slide.Open(TestData.Slide(seed: 6, width: 3000, height: 2200));
        Assert.Equal(0, TissueDetector.Detect(intact, new TissueOptions { ThumbnailSize = 1024 }).UnreadableTiles);
    }

    /// <summary>
    /// A single-level slide (no pyramid level near the thumbnail's size) is detected on an average of level 0, the
    /// way <see cref="Slide.GetThumbnail"/> (and OpenSlide's thumbnail) makes it; one tile there with scrambled scan
    /// data (start and end markers intact) used to fail the whole thumbnail and so the slide. It is counted, named,
    /// and what it covers is tissue; with every tile readable the image is the thumbnailer's, pixel for pixel.
    /// </summary>
    [Fact]
    public void ACorruptTileUnderAnAveragedThumbnailIsCountedAndUnknownNotAFailure()
    {
        using var dir = new TempDir();
        var clean = dir["single.svs"];
        // 1024-px tiles: 1500×1100 fits one Aperio level (2×2 tiles); a 500-px wish makes a 1000×733 average of it.
        SlideSynthesizer.Write(clean, new SynthOptions { Width = 1500, Height = 1100, TileSize = 1024, Seed = 7, MaxDegreeOfParallelism = 2 });
        var options = new TissueOptions { ThumbnailSize = 500 };
        using (var intact = Slide.Open(clean))
        {
            Assert.Single(intact.Levels);
            var image = TissueDetector.DetectionImage(intact, 1000, 2, new ConcurrentQueue<(long, SlideException)>(), out var read, out var none);
            Assert.Equal(4, read);
            Assert.Null(none);
            var thumb = intact.GetThumbnail(1000);
            Assert.Equal((thumb.Width, thumb.Height), (image.Width, image.Height));
            Assert.True(thumb.Pixels.AsSpan().SequenceEqual(image.Pixels), "the tile-by-tile average differs from the thumbnailer's");
            Assert.Equal(0, TissueDetector.Detect(intact, options).UnreadableTiles);
        }

        var path = dir["damaged.svs"];
        var bytes = File.ReadAllBytes(clean);
        Histoscale.Slides.Tests.Support.TileDamage.ScrambleJpegScan(bytes, 1, seed: 4); // level 0 tile (1,0)
        File.WriteAllBytes(path, bytes);
        using var slide = Slide.Open(path);
        Assert.Throws<SlideException>(() => slide.GetThumbnail(1000)); // what OpenSlide-style readers give up on
        var mask = TissueDetector.Detect(slide, options);
        Assert.Equal((1000, 733), (mask.Width, mask.Height));
        Assert.Equal(4, mask.DetectionTiles);
        Assert.Equal(1, mask.UnreadableTiles);
        var cause = Assert.Single(mask.UnreadableCauses);
        Assert.Contains("damaged.svs", cause);
        Assert.Contains("level 0 tile (1,0)", cause);
        // Level-0 x 1024..1499, y 0..1023 maps to mask x 682..999, y 0..681.
        AssertTissue(mask, 682, 0, 1000 - 682, 682);
    }

    private static void AssertTissue(TissueMask mask, int x0, int y0, int width, int height)
    {
        for (var y = y0; y < y0 + height; y++)
        {
            for (var x = x0; x < x0 + width; x++)
            {
                Assert.True(mask.Mask[(y * mask.Width) + x] == 1, $"mask ({x},{y}) is not tissue");
            }
        }
    }

    private static byte[] RandomTissue(Random rng, int w, int h)
    {
        var rgba = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var p = ((y * w) + x) * 4;
                // Blobs of stain on glass, with specks, noise and a transparent corner.
                var tissue = Math.Sin(x / 9.0) + Math.Cos(y / 7.0) > 0.6 || rng.Next(200) == 0;
                (rgba[p], rgba[p + 1], rgba[p + 2]) = tissue
                    ? ((byte)(170 + rng.Next(60)), (byte)(70 + rng.Next(60)), (byte)(150 + rng.Next(50)))
                    : ((byte)(225 + rng.Next(30)), (byte)(225 + rng.Next(30)), (byte)(225 + rng.Next(30)));
                rgba[p + 3] = x + y < 5 ? (byte)0 : (byte)255;
            }
        }
        return rgba;
    }

    /// <summary>The plain definition, one pixel at a time: what the detector computed before it was made fast.</summary>
    private static (byte[] Mask, int Threshold) Reference(byte[] rgba, int w, int h, TissueOptions options)
    {
        var n = w * h;
        var saturation = new byte[n];
        var histogram = new long[256];
        for (var i = 0; i < n; i++)
        {
            if (rgba[(i * 4) + 3] == 0)
            {
                continue;
            }
            int r = rgba[i * 4], g = rgba[(i * 4) + 1], b = rgba[(i * 4) + 2];
            var max = Math.Max(r, Math.Max(g, b));
            var min = Math.Min(r, Math.Min(g, b));
            var s = max == 0 ? 0 : ((max - min) * 255) / max;
            saturation[i] = (byte)s;
            histogram[s]++;
        }
        var threshold = Math.Clamp(Otsu.Threshold(histogram), options.MinThreshold, options.MaxThreshold);
        var mask = saturation.Select(s => s >= threshold ? (byte)1 : (byte)0).ToArray();
        Morph(mask, w, h, options.CloseRadius, dilate: true);
        Morph(mask, w, h, options.CloseRadius, dilate: false);
        Morph(mask, w, h, options.OpenRadius, dilate: false);
        Morph(mask, w, h, options.OpenRadius, dilate: true);
        return (mask, threshold);
    }

    /// <summary>Square element, rows then columns, each window clipped at the border (a running count of set pixels).</summary>
    private static void Morph(byte[] mask, int w, int h, int radius, bool dilate)
    {
        if (radius <= 0)
        {
            return;
        }
        byte At(byte[] m, int x, int y) => m[(y * w) + x];
        var rows = (byte[])mask.Clone();
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                int count = 0, window = 0;
                for (var k = Math.Max(0, x - radius); k <= Math.Min(w - 1, x + radius); k++, window++)
                {
                    count += At(mask, k, y);
                }
                rows[(y * w) + x] = dilate ? (byte)(count > 0 ? 1 : 0) : (byte)(count == window ? 1 : 0);
            }
        }
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                int count = 0, window = 0;
                for (var k = Math.Max(0, y - radius); k <= Math.Min(h - 1, y + radius); k++, window++)
                {
                    count += At(rows, x, k);
                }
                mask[(y * w) + x] = dilate ? (byte)(count > 0 ? 1 : 0) : (byte)(count == window ? 1 : 0);
            }
        }
    }

    /// <summary>Records every read's range (from any thread).</summary>
    private sealed class CountingSource(IByteSource inner) : IByteSource
    {
        public ConcurrentQueue<(long Offset, long Length)> Reads { get; } = new();

        public string Name => inner.Name;

        public long Length => inner.Length;

        public SourceIdentity? Identity => inner.Identity;

        public int Read(long offset, Span<byte> buffer)
        {
            Reads.Enqueue((offset, buffer.Length));
            return inner.Read(offset, buffer);
        }

        public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads.Enqueue((offset, buffer.Length));
            return inner.ReadAsync(offset, buffer, cancellationToken);
        }

        public void Dispose() => inner.Dispose();
    }
}
