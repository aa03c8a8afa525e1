using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.Tiff;

public class TiffWriterTests
{
    private const int W = 300;
    private const int H = 200;

    [Theory]
    [InlineData(TiffWriteCompression.None, false, TiffFormat.Classic)]
    [InlineData(TiffWriteCompression.Lzw, false, TiffFormat.Classic)]
    [InlineData(TiffWriteCompression.Lzw, true, TiffFormat.BigTiff)]
    [InlineData(TiffWriteCompression.Deflate, false, TiffFormat.BigTiff)]
    [InlineData(TiffWriteCompression.Deflate, true, TiffFormat.Auto)]
    public void Lossless_pages_subifds_and_strips_round_trip_exactly(TiffWriteCompression compression, bool predictor, TiffFormat format)
    {
        using var file = new WriterTestImages.TempFile();
        var level0 = WriterTestImages.Pattern(W, H, 3);
        var half = WriterTestImages.Pattern(W / 2, H / 2, 3, seed: 2);
        var grey = WriterTestImages.Pattern(W, H, 1, seed: 3);
        using (var writer = TiffWriter.Create(file.Path, new TiffWriterOptions { Format = format }))
        {
            var page = writer.AddPage(Options(compression, predictor) with { Width = W, Height = H, TileWidth = 64, Description = "level 0" });
            var sub = page.AddSubIfd(Options(compression, predictor) with { Width = W / 2, Height = H / 2, TileWidth = 64, NewSubfileType = 1 });
            var strips = writer.AddPage(Options(compression, predictor) with { Width = W, Height = H, SamplesPerPixel = 1, RowsPerStrip = 48 });
            // Tiles of the reduced level first and in reverse: order of arrival must not matter.
            for (var row = sub.TilesDown - 1; row >= 0; row--)
            {
                sub.WriteTileRow(row, half.AsMemory(row * 64 * (W / 2) * 3), W / 2 * 3);
            }
            for (var row = 0; row < page.TilesDown; row++)
            {
                page.WriteTileRow(row, level0.AsMemory(row * 64 * W * 3), W * 3);
            }
            for (var s = 0; s < strips.StripCount; s++)
            {
                strips.WriteStrip(s, grey.AsSpan(s * 48 * W));
            }
            writer.Finish();
            Assert.Equal(format == TiffFormat.BigTiff, writer.IsBigTiff);
        }

        Assert.Equal(level0, WriterTestImages.Decode(file.Path, page: 0));
        Assert.Equal(half, WriterTestImages.Decode(file.Path, page: 0, subifd: 0));
        Assert.Equal(grey, WriterTestImages.Decode(file.Path, page: 1));

        var tiff = new TestTiffWalker(file.Path);
        Assert.Equal(format == TiffFormat.BigTiff, tiff.BigTiff);
        Assert.Equal(2, tiff.Pages.Count);
        var p0 = tiff.Pages[0];
        Assert.Equal("level 0", p0.Text(TiffTag.ImageDescription));
        Assert.Equal(5 * 4, p0.Values(TiffTag.TileOffsets).Length);
        Assert.Equal(predictor ? 2 : 1, p0.Has(TiffTag.Predictor) ? p0.Value(TiffTag.Predictor) : 1);
        Assert.Equal(tiff.BigTiff ? 18 : 13, p0.Type(TiffTag.SubIfds)); // IFD8 / IFD, as libtiff writes
        Assert.Equal(1, tiff.SubIfd(p0, 0).Value(TiffTag.NewSubfileType));
        Assert.Equal(TiffPhotometric.MinIsBlack, tiff.Pages[1].Value(TiffTag.Photometric));
        Assert.Equal(48, tiff.Pages[1].Value(TiffTag.RowsPerStrip));
    }

    [Fact]
    public void Rgba_pages_carry_extra_samples()
    {
        using var file = new WriterTestImages.TempFile();
        var pixels = WriterTestImages.Pattern(64, 32, 4);
        using (var writer = TiffWriter.Create(file.Path))
        {
            var page = writer.AddPage(new TiffPageOptions { Width = 64, Height = 32, SamplesPerPixel = 4, TileWidth = 32, Compression = TiffWriteCompression.Lzw });
            page.WriteTileRow(0, pixels, 64 * 4);
            writer.Finish();
        }
        Assert.Equal(pixels, WriterTestImages.Decode(file.Path));
        Assert.Equal(2, new TestTiffWalker(file.Path).Pages[0].Value(TiffTag.ExtraSamples));
    }

    [Theory]
    [InlineData(JpegEncoderKind.OptimizedHuffman)]
    [InlineData(JpegEncoderKind.StandardHuffman)]
    public void Jpeg_tiles_are_abbreviated_streams_sharing_JPEGTables(JpegEncoderKind encoder)
    {
        using var file = new WriterTestImages.TempFile();
        const int size = 480;
        var pixels = new byte[size * size * 3];
        new SyntheticTissue(4000, 3000, 7).Render(1800, 1300, size, size, pixels, size * 3);
        using (var writer = TiffWriter.Create(file.Path))
        {
            var page = writer.AddPage(new TiffPageOptions { Width = size - 20, Height = size - 30, TileWidth = 240, Compression = TiffWriteCompression.Jpeg, JpegEncoder = encoder, JpegQuality = 90 });
            for (var row = 0; row < page.TilesDown; row++)
            {
                page.WriteTileRow(row, pixels.AsMemory(row * 240 * size * 3), size * 3);
            }
            writer.Finish();
        }

        var decoded = WriterTestImages.Decode(file.Path);
        var expected = new byte[(size - 20) * (size - 30) * 3];
        for (var y = 0; y < size - 30; y++)
        {
            pixels.AsSpan(y * size * 3, (size - 20) * 3).CopyTo(expected.AsSpan(y * (size - 20) * 3));
        }
        var error = WriterTestImages.MeanAbsoluteError(expected, decoded);
        Assert.True(error < 3, $"JPEG mean absolute error {error:F2}");

        var ifd = new TestTiffWalker(file.Path).Pages[0];
        Assert.Equal(TiffCompression.Jpeg, ifd.Value(TiffTag.Compression));
        Assert.Equal(TiffPhotometric.YCbCr, ifd.Value(TiffTag.Photometric));
        Assert.Equal([2L, 2L], ifd.Values(TiffTag.YCbCrSubSampling));
        var tables = ifd.Raw(TiffTag.JpegTables);
        Assert.Equal([0xFF, 0xD8], tables[..2]);
        Assert.Equal([0xFF, 0xD9], tables[^2..]);
        Assert.Equal(2, Markers(tables).Count(m => m == 0xDB));
        for (var t = 0; t < 4; t++)
        {
            var markers = Markers(ifd.Chunk(t));
            Assert.DoesNotContain(0xDB, markers);  // quantisation tables are always shared
            Assert.DoesNotContain(0xE0, markers);  // no JFIF header inside TIFF
            Assert.Contains(0xC0, markers);
            Assert.Equal(0xDA, markers[^1]);
            if (encoder == JpegEncoderKind.StandardHuffman)
            {
                Assert.DoesNotContain(0xC4, markers); // standard Huffman tables: shared as well
            }
        }
    }

    [Fact]
    public void Grey_jpeg_pages_hold_one_component_tiles()
    {
        using var file = new WriterTestImages.TempFile();
        var grey = new byte[256 * 128];
        for (var i = 0; i < grey.Length; i++)
        {
            grey[i] = (byte)(((i % 256) / 2) + ((i / 256) % 64));
        }
        using (var writer = TiffWriter.Create(file.Path))
        {
            var page = writer.AddPage(new TiffPageOptions { Width = 256, Height = 128, SamplesPerPixel = 1, TileWidth = 128, Compression = TiffWriteCompression.Jpeg, JpegQuality = 90 });
            page.WriteTileRow(0, grey, 256);
            writer.Finish();
        }
        var error = WriterTestImages.MeanAbsoluteError(grey, WriterTestImages.Decode(file.Path));
        Assert.True(error < 2, $"JPEG mean absolute error {error:F2}");
        var ifd = new TestTiffWalker(file.Path).Pages[0];
        Assert.Equal(TiffPhotometric.MinIsBlack, ifd.Value(TiffTag.Photometric));
        for (var t = 0; t < 2; t++)
        {
            var tile = ifd.Chunk(t);
            var sof = tile.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
            Assert.Equal(1, tile[sof + 9]); // one component, not grey pixels coded as YCbCr
        }
    }

    [Fact]
    public void Auto_format_switches_to_BigTiff_past_4GiB_and_Classic_refuses()
    {
        var chunk = new byte[64 << 20];
        TiffWriter Fill(TiffFormat format, out TiffPageWriter page)
        {
            var writer = new TiffWriter(new CountingStream(), new TiffWriterOptions { Format = format });
            page = writer.AddPage(new TiffPageOptions { Width = 16 * 80, Height = 16, TileWidth = 16, Compression = TiffWriteCompression.None });
            return writer;
        }
        using (var auto = Fill(TiffFormat.Auto, out var page))
        {
            for (var i = 0; i < 66; i++)
            {
                page.WriteEncodedTile(i, 0, chunk);
            }
            auto.Finish();
            Assert.True(auto.IsBigTiff);
        }
        using (var small = Fill(TiffFormat.Auto, out var page))
        {
            page.WriteEncodedTile(0, 0, chunk);
            small.Finish();
            Assert.False(small.IsBigTiff);
        }
        using var classic = Fill(TiffFormat.Classic, out var classicPage);
        Assert.Throws<IOException>(() =>
        {
            for (var i = 0; i < 66; i++)
            {
                classicPage.WriteEncodedTile(i, 0, chunk);
            }
        });
    }

    [Fact]
    public void Output_is_identical_for_any_thread_count()
    {
        var pixels = WriterTestImages.Pattern(W, H, 3);
        byte[] Write(int threads, TiffWriteCompression compression)
        {
            using var stream = new MemoryStream();
            using (var writer = new TiffWriter(stream, new TiffWriterOptions { MaxDegreeOfParallelism = threads }, leaveOpen: true))
            {
                var page = writer.AddPage(new TiffPageOptions { Width = W, Height = H, TileWidth = 32, Compression = compression });
                for (var row = 0; row < page.TilesDown; row++)
                {
                    page.WriteTileRow(row, pixels.AsMemory(row * 32 * W * 3), W * 3);
                }
                writer.Finish();
            }
            return stream.ToArray();
        }
        Assert.Equal(Write(1, TiffWriteCompression.Jpeg), Write(4, TiffWriteCompression.Jpeg));
        Assert.Equal(Write(1, TiffWriteCompression.Deflate), Write(3, TiffWriteCompression.Deflate));
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        using var writer = new TiffWriter(new MemoryStream());
        Assert.Throws<ArgumentException>(() => writer.AddPage(new TiffPageOptions { Width = 10, Height = 10, TileWidth = 20 }));
        Assert.Throws<ArgumentException>(() => writer.AddPage(new TiffPageOptions { Width = 10, Height = 10, BitsPerSample = 16, Compression = TiffWriteCompression.Jpeg }));
        Assert.Throws<InvalidOperationException>(() => writer.Finish());
    }

    private static TiffPageOptions Options(TiffWriteCompression compression, bool predictor) =>
        new() { Width = 1, Height = 1, Compression = compression, HorizontalPredictor = predictor };

    /// <summary>Markers of a JPEG stream up to and including SOS.</summary>
    private static List<int> Markers(byte[] jpeg)
    {
        var markers = new List<int>();
        var pos = 2;
        while (pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xD9)
        {
            markers.Add(jpeg[pos + 1]);
            if (jpeg[pos + 1] == 0xDA)
            {
                break;
            }
            pos += 2 + ((jpeg[pos + 2] << 8) | jpeg[pos + 3]);
        }
        return markers;
    }

    /// <summary>A seekable stream that only counts, to test multi-GiB layouts without writing them.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => true;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get; set; }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Position += buffer.Length;
            _length = Math.Max(_length, Position);
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => _length + offset,
        };

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void SetLength(long value) => _length = value;
    }
}
