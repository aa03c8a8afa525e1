using SkiaSharp;

namespace Histoscale.Slides.Imaging;

/// <summary>Writes RGBA images as PNG (keeps transparency) or JPEG (by file extension).</summary>
public static class ImageFiles
{
    public static void Save(RgbaImage image, string path, int jpegQuality = 90)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var format = ext is ".jpg" or ".jpeg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var data = Encode(image, format, jpegQuality);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public static unsafe SKData Encode(RgbaImage image, SKEncodedImageFormat format, int quality = 90)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        fixed (byte* p = image.Pixels)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)p, image.Width * 4);
            return pixmap.Encode(format, quality) ?? throw new InvalidOperationException($"could not encode {format}");
        }
    }

    /// <summary>Decodes a PNG/JPEG file to RGBA (for tests and references).</summary>
    public static RgbaImage Load(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not a decodable image");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize];
        unsafe
        {
            fixed (byte* p = pixels)
            {
                var r = codec.GetPixels(info, (IntPtr)p);
                if (r != SKCodecResult.Success)
                {
                    throw new InvalidDataException($"{path}: decode failed ({r})");
                }
            }
        }
        return new RgbaImage(info.Width, info.Height, pixels);
    }
}
