using ImageMagick;

namespace Histoscale.Slides.Codecs;

/// <summary>
/// Aperio JPEG 2000 tiles (compression 33003 = YCbCr codestreams, 33005 = RGB) through OpenJPEG inside
/// ImageMagick (Magick.NET), our one native imaging library; of the NuGet candidates only it ships OpenJPEG
/// (BENCHMARKS.md). Aperio's YCbCr codestreams carry no multi-component transform, so the decoder hands back
/// Y, Cb, Cr planes and we convert to RGB ourselves, as OpenSlide does. Decoding is strict: any OpenJPEG/ImageMagick
/// warning (truncated codestream, corrupt packet data) is the tile's error, never pixels.
/// </summary>
internal sealed class Jpeg2000Codec : ITileCodec
{
    public static readonly Jpeg2000Codec Instance = new();

    private static readonly MagickReadSettings Settings = new() { Format = MagickFormat.J2k };

    public void Decode(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> rgba, int stride)
    {
        byte[] pixels;
        int bands;
        try
        {
            // Strict: OpenJPEG reports a truncated or damaged codestream as a warning and ImageMagick then hands back
            // what it decoded (grey or garbage where data was missing); that must fail as the tile's error.
            using var image = Imaging.MagickPixels.ReadStrict(data, Settings);
            if (image.Width != width || image.Height != height)
            {
                throw new CodecException($"JPEG 2000 codestream is {image.Width}x{image.Height}, expected {width}x{height}");
            }
            bands = image.ChannelCount >= 3 ? 3 : 1;
            using var access = image.GetPixels();
            pixels = (bands == 3 ? access.ToByteArray(PixelMapping.RGB) : access.ToByteArray("R")) ?? throw new CodecException("JPEG 2000 decode returned no pixels");
        }
        catch (MagickException ex)
        {
            throw new CodecException($"JPEG 2000 decode failed: {ex.Message.ReplaceLineEndings(" ").Trim()}", ex);
        }
        if (bands != 3 && bands != 1)
        {
            throw new CodecException($"JPEG 2000 codestream has {bands} components");
        }
        var ycbcr = context.Compression == Tiff.TiffCompression.Jpeg2000YCbCr && bands == 3;
        for (var y = 0; y < height; y++)
        {
            var src = pixels.AsSpan(y * width * bands, width * bands);
            var dst = rgba.Slice(y * stride, width * 4);
            for (int x = 0, s = 0, d = 0; x < width; x++, s += bands, d += 4)
            {
                if (bands == 1)
                {
                    dst[d] = dst[d + 1] = dst[d + 2] = src[s];
                }
                else if (ycbcr)
                {
                    YCbCrToRgb(src[s], src[s + 1], src[s + 2], dst[d..]);
                }
                else
                {
                    dst[d] = src[s];
                    dst[d + 1] = src[s + 1];
                    dst[d + 2] = src[s + 2];
                }
                dst[d + 3] = 255;
            }
        }
    }

    /// <summary>ITU-R BT.601 full-range YCbCr to RGB (the JFIF equations).</summary>
    private static void YCbCrToRgb(byte y, byte cb, byte cr, Span<byte> rgb)
    {
        var c = cb - 128.0;
        var r = cr - 128.0;
        rgb[0] = Clamp(y + (1.402 * r));
        rgb[1] = Clamp(y - (0.344136 * c) - (0.714136 * r));
        rgb[2] = Clamp(y + (1.772 * c));
    }

    private static byte Clamp(double v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5);
}
