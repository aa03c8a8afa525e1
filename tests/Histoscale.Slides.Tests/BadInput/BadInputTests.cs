using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.BadInput;

/// <summary>Each kind of broken file gets a typed <see cref="SlideException"/> naming the file, level, tile and cause.</summary>
public sealed class BadInputTests
{
    private static byte[] Svs() => File.ReadAllBytes(TestSlides.Svs);

    private static Slide OpenBytes(byte[] bytes, string name = "broken.svs") => Slide.Open(new MemorySource(bytes, name), new SlideOptions { Cache = null });

    [Fact]
    public void NotATiff()
    {
        var ex = Assert.Throws<SlideException>(() => OpenBytes("just some text, not an image\n"u8.ToArray(), "notes.txt"));
        Assert.Equal("notes.txt", ex.File);
        Assert.Contains("not a TIFF", ex.Message);
    }

    [Fact]
    public void EmptyFile()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.svs");
        File.WriteAllBytes(path, []);
        var ex = Assert.Throws<SlideException>(() => Slide.Open(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("empty file", ex.Message);
    }

    [Fact]
    public void MissingFile()
    {
        var ex = Assert.Throws<SlideException>(() => Slide.Open("/nonexistent/slide.svs"));
        Assert.Contains("/nonexistent/slide.svs", ex.Message);
        Assert.Contains("not found", ex.Message);
    }

    [Theory]
    [InlineData(0.999)]
    [InlineData(0.5)]
    [InlineData(0.1)]
    [InlineData(0.0005)]
    public void TruncatedFile(double keep)
    {
        var bytes = Svs();
        var cut = bytes[..(int)(bytes.Length * keep)];
        var ex = Assert.Throws<SlideException>(() =>
        {
            using var slide = OpenBytes(cut);
            ReadEverything(slide);
        });
        Assert.Equal("broken.svs", ex.File);
    }

    [Fact]
    public void TileOffsetPastEndOfFileNamesTheTileAndSparesOthers()
    {
        var patcher = new TiffPatcher(Svs());
        using var good = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        var across = (int)good.Levels[0].TilesAcross;
        patcher.SetArray(0, TiffTag.TileOffsets, across + 1, (uint)patcher.Bytes.Length + 1000); // tile (1,1)
        using var slide = OpenBytes(patcher.Bytes);
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 240, 240, 10, 10));
        Assert.Equal(0, ex.Level);
        Assert.Equal((1L, 1L), ex.Tile);
        Assert.Contains("past the end of the file", ex.Message);
        Assert.Contains("level 0 tile (1,1)", ex.Message);
        // A region that does not touch the bad tile still reads, and equals the intact file's pixels.
        var expected = good.ReadRegion(0, 500, 0, 200, 200).Pixels;
        Assert.Equal(expected, slide.ReadRegion(0, 500, 0, 200, 200).Pixels);
    }

    [Fact]
    public void HugeTileByteCountIsRejectedWithoutAllocating()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetArray(0, TiffTag.TileByteCounts, 0, 0x7FFF_FFF0);
        using var slide = OpenBytes(patcher.Bytes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 0, 0, 8, 8));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 * 1024 * 1024, "allocated from a claimed size");
        Assert.Equal((0L, 0L), ex.Tile);
    }

    [Fact]
    public void IfdChainThatLoops()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetNext(patcher.IfdOffsets.Count - 1, (uint)patcher.IfdOffsets[1]);
        var ex = Assert.Throws<SlideException>(() => OpenBytes(patcher.Bytes));
        Assert.Contains("loops", ex.Message);
    }

    [Fact]
    public void SelfLoopingIfd()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetNext(0, (uint)patcher.IfdOffsets[0]);
        Assert.Contains("loops", Assert.Throws<SlideException>(() => OpenBytes(patcher.Bytes)).Message);
    }

    [Fact]
    public void AbsurdDimensions()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetLong(0, TiffTag.ImageWidth, 4_000_000_000);
        patcher.SetLong(0, TiffTag.ImageLength, 4_000_000_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<SlideException>(() => OpenBytes(patcher.Bytes));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 * 1024 * 1024, "allocated from a claimed size");
        Assert.Equal(0, ex.Level);
        Assert.Contains("4000000000x4000000000", ex.Message);
    }

    [Fact]
    public void AbsurdTileSize()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetLong(0, TiffTag.TileWidth, 1_000_000);
        var ex = Assert.Throws<SlideException>(() => OpenBytes(patcher.Bytes));
        Assert.Contains("tile size", ex.Message);
    }

    [Fact]
    public void CorruptJpegInOneTileNamesTheTileAndSparesOthers()
    {
        var patcher = new TiffPatcher(Svs());
        var offset = (int)patcher.GetArray(0, TiffTag.TileOffsets, 2);
        var count = (int)patcher.GetArray(0, TiffTag.TileByteCounts, 2);
        new Random(7).NextBytes(patcher.Bytes.AsSpan(offset + 2, count - 2)); // keep SOI, destroy the rest
        using var slide = OpenBytes(patcher.Bytes);
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 480, 0, 240, 240));
        Assert.Equal((2L, 0L), ex.Tile);
        Assert.Equal(0, ex.Level);
        Assert.Contains("JPEG", ex.Message);
        slide.ReadRegion(0, 0, 240, 240, 240); // a region that does not touch it reads
    }

    [Fact]
    public void UnsupportedCompressionNamesTheCode()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetLong(0, TiffTag.Compression, 34712);
        using var slide = OpenBytes(patcher.Bytes);
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 0, 0, 100, 100));
        Assert.Contains("unsupported compression 34712", ex.Message);
        Assert.Equal((0L, 0L), ex.Tile);
    }

    [Fact]
    public void MissingAssociatedImageListsTheAvailableOnes()
    {
        using var slide = Slide.Open(TestSlides.Svs);
        var ex = Assert.Throws<SlideException>(() => slide.ReadAssociatedImage("barcode"));
        Assert.Contains("label", ex.Message);
    }

    [Fact]
    public void UnsupportedSampleLayout()
    {
        var patcher = new TiffPatcher(Svs());
        patcher.SetLong(0, TiffTag.BitsPerSample, 16);
        var ex = Assert.Throws<SlideException>(() => OpenBytes(patcher.Bytes));
        Assert.Contains("bits per sample", ex.Message);
    }

    internal static void ReadEverything(Slide slide)
    {
        foreach (var level in slide.Levels)
        {
            var buffer = new byte[level.TileWidth * level.TileHeight * 4];
            for (long row = 0; row < level.TilesDown; row++)
            {
                for (long col = 0; col < level.TilesAcross; col++)
                {
                    slide.ReadTile(level.Index, col, row, buffer);
                }
            }
        }
        foreach (var name in slide.AssociatedImages.Keys)
        {
            slide.ReadAssociatedImage(name);
        }
        slide.GetThumbnail(64);
    }
}
