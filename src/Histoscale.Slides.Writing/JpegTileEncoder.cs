using System.Buffers;
using Histoscale.Slides.Tiff;
using SkiaSharp;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Encodes 8-bit grey or RGB pixels as JPEG (YCbCr 4:2:0 for colour) and returns the abbreviated stream for a
/// TIFF tile or strip. The shared tables are found up front by encoding two unlike probe images: a table both
/// probes agree on depends only on the quality and goes into JPEGTables. This keeps encoding parallel and the
/// output independent of which tile happens to be encoded first. Thread-safe.
/// </summary>
internal sealed class JpegTileEncoder
{
    private readonly int _quality;
    private readonly int _samples;
    private readonly JpegEncoderKind _kind;
    private readonly List<byte[]> _shared;

    public JpegTileEncoder(int quality, int samplesPerPixel, JpegEncoderKind kind)
    {
        _quality = quality;
        _samples = samplesPerPixel;
        _kind = kind;
        var a = ProbeTables(flat: false);
        var b = ProbeTables(flat: true);
        _shared = [.. a.Where(s => b.Any(t => t.AsSpan().SequenceEqual(s)))];
        JpegTables = JpegTableSplitter.TablesStream(_shared);
    }

    /// <summary>Value of the JPEGTables tag.</summary>
    public byte[] JpegTables { get; }

    public EncodedChunk Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var output = new ChunkBuilder((width * height / 4) + 1024);
        if (_kind == JpegEncoderKind.Vips)
        {
            var jpeg = EncodeVips(pixels, width, height);
            JpegTableSplitter.WriteAbbreviated(jpeg, _shared, output);
        }
        else
        {
            using var data = EncodeSkia(pixels, width, height);
            JpegTableSplitter.WriteAbbreviated(data.AsSpan(), _shared, output);
        }
        return output.ToChunk();
    }

    private List<byte[]> ProbeTables(bool flat)
    {
        const int size = 32;
        var pixels = new byte[size * size * _samples];
        var state = 0x9E3779B9u;
        for (var i = 0; i < pixels.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            pixels[i] = flat ? (byte)(100 + (i % 3)) : (byte)state;
        }
        if (_kind == JpegEncoderKind.Vips)
        {
            return JpegTableSplitter.TableSegments(EncodeVips(pixels, size, size));
        }
        using var data = EncodeSkia(pixels, size, size);
        return JpegTableSplitter.TableSegments(data.AsSpan());
    }

    private unsafe SKData EncodeSkia(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var options = new SKJpegEncoderOptions(_quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore);
        if (_samples == 1)
        {
            fixed (byte* p = pixels)
            {
                using var grey = new SKPixmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), (nint)p, width);
                return grey.Encode(options) ?? throw new InvalidOperationException("SkiaSharp JPEG encoding failed");
            }
        }
        // Skia's encoder takes 4-byte pixels only; widen RGB to RGBA in a rented buffer.
        var count = width * height;
        var rgba = ArrayPool<byte>.Shared.Rent(count * 4);
        try
        {
            for (int i = 0, s = 0, d = 0; i < count; i++, s += 3, d += 4)
            {
                rgba[d] = pixels[s];
                rgba[d + 1] = pixels[s + 1];
                rgba[d + 2] = pixels[s + 2];
                rgba[d + 3] = 255;
            }
            fixed (byte* p = rgba)
            {
                using var pixmap = new SKPixmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), (nint)p, width * 4);
                return pixmap.Encode(options) ?? throw new InvalidOperationException("SkiaSharp JPEG encoding failed");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    private unsafe byte[] EncodeVips(ReadOnlySpan<byte> pixels, int width, int height)
    {
        fixed (byte* p = pixels)
        {
            // A copy owned by libvips: its operation cache may outlive our pinned span.
            using var image = NetVips.Image.NewFromMemoryCopy((nint)p, (ulong)(width * height * _samples), width, height, _samples, NetVips.Enums.BandFormat.Uchar);
            return image.JpegsaveBuffer(q: _quality, optimizeCoding: false, subsampleMode: NetVips.Enums.ForeignSubsample.On, keep: NetVips.Enums.ForeignKeep.None);
        }
    }
}
