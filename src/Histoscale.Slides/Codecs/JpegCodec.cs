using System.Buffers;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Imaging;
using ImageMagick;
using ImageMagick.Formats;

namespace Histoscale.Slides.Codecs;

/// <summary>
/// JPEG (compression 7): our SIMD decoder (<see cref="JpegDecoder"/>, bit-exact with libjpeg-turbo) for the
/// baseline streams slides are made of, libjpeg-turbo inside ImageMagick (Magick.NET) for everything it
/// declines (progressive, arithmetic, 12-bit, CMYK, unusual sampling). Corrupt or truncated data is a
/// <see cref="CodecException"/> on either path: ours rejects it, and libjpeg-turbo's "Corrupt JPEG data" and
/// "Premature end" warnings are errors here (<see cref="MagickPixels.ReadStrict"/>), as OpenSlide makes them.
/// See BENCHMARKS.md.
/// Which of the decoder's kernel paths runs is fixed per instance (<see cref="Simd"/>); <see cref="Instance"/> picks
/// the best the machine has.
/// </summary>
internal sealed class JpegCodec : ITileCodec
{
    private const byte Marker = 0xFF;
    private const byte Soi = 0xD8;
    private const byte Eoi = 0xD9;
    private const byte Sos = 0xDA;
    private const byte App0 = 0xE0;
    private const byte App14 = 0xEE;

    /// <summary>The codec with <see cref="JpegSimd.Auto"/>: the fastest kernels this machine runs.</summary>
    public static readonly JpegCodec Instance = new();

    /// <summary>A codec whose decoder runs the <paramref name="simd"/> kernels, or the best supported path below them (<see cref="JpegDecoder.Resolve"/>).</summary>
    public JpegCodec(JpegSimd simd = JpegSimd.Auto)
    {
        Simd = JpegDecoder.Resolve(simd);
    }

    /// <summary>The kernels this codec's decodes run (resolved: never <see cref="JpegSimd.Auto"/>).</summary>
    public JpegSimd Simd { get; }

    public void Decode(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> rgba, int stride)
    {
        var transform = AdobeTransform(context.Photometric);
        var capacity = data.Length + (context.JpegTables?.Length ?? 0) + 32;
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        try
        {
            var length = Splice(data, context.JpegTables, transform, buffer);
            DecodeCompleteStream(buffer.AsSpan(0, length), width, height, rgba, stride, Simd);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public bool SupportsPlanar => true;

    /// <summary>Our decoder only: whatever it declines goes back to the caller's RGBA path (and libjpeg-turbo).</summary>
    public bool TryDecodePlanar(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        var transform = AdobeTransform(context.Photometric);
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length + (context.JpegTables?.Length ?? 0) + 32);
        try
        {
            var length = Splice(data, context.JpegTables, transform, buffer);
            return JpegDecoder.TryDecodePlanar(buffer.AsSpan(0, length), width, height, red, green, blue, Simd);
        }
        catch (InvalidDataException ex)
        {
            throw new CodecException(ex.Message, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Builds the complete stream the decoder sees for a TIFF tile (tables joined, colour space forced); returns its length.</summary>
    public static int BuildStream(ReadOnlySpan<byte> tile, byte[]? tables, int photometric, Span<byte> output) =>
        Splice(tile, tables, AdobeTransform(photometric), output);

    /// <summary>The Adobe colour transform that states the TIFF's Photometric choice: 0 RGB, 1 YCbCr, −1 leave the stream alone.</summary>
    private static int AdobeTransform(int photometric) => photometric switch
    {
        Tiff.TiffPhotometric.Rgb => 0,
        Tiff.TiffPhotometric.YCbCr => 1,
        _ => -1,
    };

    /// <summary>
    /// Decodes a complete JPEG stream whose size must be exactly width × height: ours first (with the
    /// <paramref name="simd"/> kernels), libjpeg-turbo for what ours declines. Corrupt data is a
    /// <see cref="CodecException"/> whichever decodes it.
    /// </summary>
    public static void DecodeCompleteStream(ReadOnlySpan<byte> stream, int width, int height, Span<byte> rgba, int stride, JpegSimd simd = JpegSimd.Auto)
    {
        bool decoded;
        try
        {
            decoded = JpegDecoder.TryDecode(stream, width, height, rgba, stride, simd);
        }
        catch (InvalidDataException ex)
        {
            throw new CodecException(ex.Message, ex);
        }
        if (!decoded)
        {
            DecodeStream(stream, width, height, rgba, stride);
        }
    }

    /// <summary>
    /// libjpeg-turbo's reference output, which our decoder reproduces bit for bit: ImageMagick reads with the float
    /// IDCT unless told otherwise, so the slow-integer IDCT and fancy upsampling (libjpeg's defaults) are asked for.
    /// </summary>
    private static readonly MagickReadSettings LibjpegDefaults = CreateReadSettings();

    private static MagickReadSettings CreateReadSettings()
    {
        var settings = new MagickReadSettings { Format = MagickFormat.Jpeg };
        settings.SetDefines(new JpegReadDefines { DctMethod = JpegDctMethod.Slow, FancyUpsampling = true });
        return settings;
    }

    /// <summary>
    /// Decodes a complete JPEG stream whose size must be exactly width × height with libjpeg-turbo (ImageMagick);
    /// truncated or corrupt data is a <see cref="CodecException"/>, never a half-grey tile.
    /// </summary>
    public static void DecodeStream(ReadOnlySpan<byte> stream, int width, int height, Span<byte> rgba, int stride)
    {
        if (rgba.Length < (long)stride * (height - 1) + width * 4L)
        {
            throw new ArgumentException("destination too small", nameof(rgba));
        }
        if (stream.IsEmpty)
        {
            throw new CodecException("JPEG data is empty");
        }
        byte[] pixels;
        try
        {
            using var image = MagickPixels.ReadStrict(stream, LibjpegDefaults);
            if (image.Width != width || image.Height != height)
            {
                throw new CodecException($"JPEG is {image.Width}x{image.Height}, expected {width}x{height}");
            }
            if (image.ColorSpace is not (ColorSpace.sRGB or ColorSpace.Gray))
            {
                image.ColorSpace = ColorSpace.sRGB; // CMYK/YCCK streams: ImageMagick keeps the ink values unless converted
            }
            pixels = MagickPixels.ToPixels(image, "RGBA");
        }
        catch (MagickException ex)
        {
            throw new CodecException($"JPEG decode failed: {ex.Message.ReplaceLineEndings(" ").Trim()}", ex);
        }
        for (var y = 0; y < height; y++)
        {
            pixels.AsSpan(y * width * 4, width * 4).CopyTo(rgba[(y * stride)..]);
        }
    }

    /// <summary>
    /// Aperio/libvips quirk: tiles are abbreviated streams whose tables live in the TIFF JPEGTables tag, and the
    /// colour space is given by the TIFF Photometric tag, not by the stream. We join tables and tile, drop the
    /// stream's own colour-space markers (JFIF APP0, Adobe APP14) and add an Adobe marker stating the TIFF's
    /// choice, so libjpeg converts (YCbCr) or does not (RGB) exactly as OpenSlide forces it.
    /// </summary>
    internal static int Splice(ReadOnlySpan<byte> tile, byte[]? tables, int adobeTransform, Span<byte> output)
    {
        if (tile.Length < 4 || tile[0] != Marker || tile[1] != Soi)
        {
            throw new CodecException("JPEG tile does not start with SOI");
        }
        var pos = 0;
        output[pos++] = Marker;
        output[pos++] = Soi;
        if (adobeTransform >= 0)
        {
            ReadOnlySpan<byte> adobe = [Marker, App14, 0, 14, (byte)'A', (byte)'d', (byte)'o', (byte)'b', (byte)'e', 0, 100, 0, 0, 0, 0, (byte)adobeTransform];
            adobe.CopyTo(output[pos..]);
            pos += adobe.Length;
        }
        if (tables is { Length: > 4 } && tables[0] == Marker && tables[1] == Soi)
        {
            var body = tables.AsSpan(2);
            if (body.Length >= 2 && body[^2] == Marker && body[^1] == Eoi)
            {
                body = body[..^2];
            }
            pos += CopySegments(body, adobeTransform >= 0, output[pos..]);
        }
        pos += CopySegments(tile[2..], adobeTransform >= 0, output[pos..]);
        return pos;
    }

    /// <summary>Copies marker segments up to and including the scan; optionally drops colour-space markers.</summary>
    private static int CopySegments(ReadOnlySpan<byte> src, bool dropColourMarkers, Span<byte> dst)
    {
        var i = 0;
        var o = 0;
        while (i + 1 < src.Length)
        {
            if (src[i] != Marker)
            {
                break; // not a marker: give the rest to the decoder unchanged and let it judge
            }
            var m = src[i + 1];
            if (m == Marker)
            {
                i++; // fill byte
                continue;
            }
            if (m == Sos || m == Eoi || i + 3 >= src.Length)
            {
                break;
            }
            var segLen = 2 + ((src[i + 2] << 8) | src[i + 3]);
            if (i + segLen > src.Length)
            {
                break;
            }
            if (!(dropColourMarkers && (m == App0 || m == App14)))
            {
                src.Slice(i, segLen).CopyTo(dst[o..]);
                o += segLen;
            }
            i += segLen;
        }
        src[i..].CopyTo(dst[o..]);
        return o + (src.Length - i);
    }
}
