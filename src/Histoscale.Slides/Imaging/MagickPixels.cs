using ImageMagick;

namespace Histoscale.Slides.Imaging;

/// <summary>
/// The few ways the product talks to ImageMagick (Magick.NET, our one native imaging library): raw 8-bit
/// pixels in and out, and strict decoding.
/// </summary>
internal static class MagickPixels
{
    /// <summary>
    /// Decodes an encoded image, treating every warning as an error. ImageMagick reports truncated or corrupt
    /// data (libjpeg's "premature end of data", bad Huffman codes) as warnings and hands back an image padded
    /// with grey; a slide tile like that must fail, not pass as pixels.
    /// </summary>
    public static MagickImage ReadStrict(ReadOnlySpan<byte> data, MagickReadSettings settings)
    {
        var image = new MagickImage();
        try
        {
            image.Warning += (_, e) => throw e.Exception;
            image.Read(data, settings);
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>An image holding a copy of 8-bit interleaved pixels laid out as <paramref name="mapping"/> ("RGB", "RGBA", "I").</summary>
    public static MagickImage FromPixels(ReadOnlySpan<byte> pixels, int width, int height, string mapping) =>
        new(pixels, new PixelReadSettings((uint)width, (uint)height, StorageType.Char, mapping));

    /// <summary>The image as 8-bit interleaved samples in <paramref name="mapping"/> order (alpha reads 255 where the image has none).</summary>
    public static byte[] ToPixels(MagickImage image, string mapping)
    {
        using var pixels = image.GetPixelsUnsafe();
        return pixels.ToByteArray(mapping) ?? throw new InvalidOperationException("ImageMagick returned no pixels");
    }
}
