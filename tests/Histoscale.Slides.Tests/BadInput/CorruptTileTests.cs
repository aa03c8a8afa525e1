using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Slides.Writing;
using Histoscale.Synthesis;

namespace Histoscale.Slides.Tests.BadInput;

/// <summary>
/// One tile's compressed data damaged, everything around it intact: reading it is a <see cref="SlideException"/>
/// naming the file, level, tile and cause, never pixels; the rest of the slide still reads.
/// </summary>
public sealed class CorruptTileTests
{
    private const string Name = "corrupt.svs";

    /// <summary>Tile (2,0) of the 7×5 level-0 grid of <see cref="TestSlides.Svs"/>.</summary>
    private const int Tile = 2;

    /// <summary>Random bytes over the whole scan, its first half, or a run in its middle (seeds fixed).</summary>
    [Theory]
    [InlineData(1, 0.0, 1.0)]
    [InlineData(2, 0.0, 1.0)]
    [InlineData(3, 0.0, 0.5)]
    [InlineData(4, 0.0, 0.5)]
    [InlineData(5, 0.4, 0.6)]
    [InlineData(6, 0.4, 0.6)]
    [InlineData(7, 0.1, 0.2)]
    [InlineData(8, 0.1, 0.2)]
    public void ScrambledScanDataInOneTileIsAnErrorNamingTheTile(int seed, double from, double to)
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        TileDamage.ScrambleJpegScan(bytes, Tile, seed, from, to);
        AssertTileFails(bytes, "corrupt JPEG data", $"seed {seed}, scan {from}-{to}");
    }

    /// <summary>
    /// Garbage between an intact scan and EOI: every MCU decodes, so before this check our decoder accepted the
    /// tile as pixels while libjpeg-turbo reports "Corrupt JPEG data: N extraneous bytes before marker 0xd9".
    /// </summary>
    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 300)]
    public void StrayBytesAfterTheScanInOneTileAreAnErrorNamingTheTile(int seed, int count)
    {
        var bytes = TileDamage.InsertBeforeEoi(File.ReadAllBytes(TestSlides.Svs), Tile, count, seed);
        AssertTileFails(bytes, $"{count} extraneous bytes before marker 0xd9", $"{count} bytes");
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void TruncatedScanInOneTileIsAnErrorFromOurDecoder(double keep)
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        TileDamage.TruncateJpegScan(bytes, Tile, keep);
        var ex = AssertTileFails(bytes, "corrupt JPEG data: premature end", $"keep {keep}");
        // Our decoder names the cause itself: corrupt data is not declined to the fallback.
        Assert.IsType<InvalidDataException>(ex.InnerException?.InnerException);
    }

    [Theory]
    [InlineData("lzw")]
    [InlineData("deflate")]
    public void CutShortLosslessTileIsAnErrorNamingTheTile(string kind)
    {
        var path = TestSlides.Get($"corrupt-{kind}.tif", new SynthOptions
        {
            Width = 900,
            Height = 700,
            TileSize = 128,
            Layout = SynthLayout.Tiff,
            Seed = 21,
            Compression = kind == "lzw" ? TiffWriteCompression.Lzw : TiffWriteCompression.Deflate,
        });
        var bytes = File.ReadAllBytes(path);
        TileDamage.TruncateTile(bytes, Tile);
        using var slide = Slide.Open(new MemorySource(bytes, Name), new SlideOptions { Cache = null });
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 256, 0, 128, 128));
        Assert.Equal((0, (2L, 0L)), (ex.Level, ex.Tile));
        Assert.Contains("level 0 tile (2,0)", ex.Message);
        slide.ReadRegion(0, 0, 128, 128, 128);
    }

    private static SlideException AssertTileFails(byte[] bytes, string cause, string what)
    {
        using var slide = Slide.Open(new MemorySource(bytes, Name), new SlideOptions { Cache = null });
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 480, 0, 240, 240));
        Assert.True(ex.Level == 0 && ex.Tile == (2L, 0L), $"{what}: {ex.Message}");
        Assert.StartsWith($"{Name}: level 0 tile (2,0): ", ex.Message);
        Assert.True(ex.Cause.Contains(cause, StringComparison.OrdinalIgnoreCase), $"{what}: {ex.Message}");
        Assert.True(ex.IsCorruptData, $"{what}: corrupt data must be marked as such (a pipeline records it as the tile's verdict)");
        // The same tile through the tile API, and a region beside it reads.
        Assert.Throws<SlideException>(() => slide.ReadTile(0, 2, 0, new byte[240 * 240 * 4]));
        slide.ReadRegion(0, 0, 240, 240, 240);
        return ex;
    }

    /// <summary>A failure to read the bytes (a store or disk error) is not a verdict on the tile's data.</summary>
    [Fact]
    public void A_read_failure_is_not_marked_as_corrupt_data()
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        var source = new FailingSource(bytes);
        using var slide = Slide.Open(source, new SlideOptions { Cache = null });
        source.Failing = true; // the structure is read; now the disk goes away
        var level = slide.Levels[0];
        var ex = Assert.Throws<SlideException>(() =>
        {
            for (var row = 0L; row < level.TilesDown; row++)
            {
                for (var col = 0L; col < level.TilesAcross; col++)
                {
                    slide.ReadTile(0, col, row, new byte[level.TileWidth * level.TileHeight * 4]);
                }
            }
        });
        Assert.False(ex.IsCorruptData, ex.Message);
        Assert.Contains("disk went away", ex.Message);
    }

    /// <summary>Serves the bytes until <see cref="Failing"/> is set, then fails every read as an I/O error would.</summary>
    private sealed class FailingSource(byte[] bytes) : Histoscale.Slides.Sources.IByteSource
    {
        public bool Failing { get; set; }

        public string Name => "failing.svs";

        public long Length => bytes.Length;

        public int Read(long offset, Span<byte> buffer)
        {
            if (Failing)
            {
                throw new IOException("disk went away");
            }
            var n = (int)Math.Min(buffer.Length, bytes.Length - offset);
            bytes.AsSpan((int)offset, n).CopyTo(buffer);
            return n;
        }

        public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(offset, buffer.Span));

        public void Dispose()
        {
        }
    }
}
