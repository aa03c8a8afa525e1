using ImageMagick;
using ImageMagick.Formats;

namespace Histoscale.Slides.Imaging;

/// <summary>File formats <see cref="ImageFiles"/> writes.</summary>
public enum ImageFileFormat
{
    /// <summary>8-bit RGBA PNG: transparency kept.</summary>
    Png,

    /// <summary>Baseline JPEG, YCbCr 4:2:0; alpha dropped.</summary>
    Jpeg,
}

/// <summary>Writes RGBA images as PNG (keeps transparency) or JPEG (by file extension).</summary>
public static class ImageFiles
{
    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/>: JPEG (at <paramref name="jpegQuality"/>, 1–100) for a .jpg/.jpeg extension, PNG otherwise.</summary>
    public static void Save(RgbaImage image, string path, int jpegQuality = 90)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var format = ext is ".jpg" or ".jpeg" ? ImageFileFormat.Jpeg : ImageFileFormat.Png;
        var data = Encode(image, format, jpegQuality);
        File.WriteAllBytes(path, data);
    }

    /// <summary>Encodes <paramref name="image"/> in memory as a PNG (RGBA) or a JPEG (4:2:0, alpha dropped, at <paramref name="quality"/> 1–100).</summary>
    public static byte[] Encode(RgbaImage image, ImageFileFormat format, int quality = 90)
    {
        using var magick = MagickPixels.FromPixels(image.Pixels, image.Width, image.Height, "RGBA");
        if (format == ImageFileFormat.Png)
        {
            // PNG32: always RGBA, so an opaque image is not silently reduced to RGB or a palette.
            return magick.ToByteArray(MagickFormat.Png32);
        }
        magick.Quality = (uint)quality;
        magick.Settings.ColorType = ColorType.TrueColor; // colour JPEG even when the pixels happen to be grey
        // 4:2:0 at every quality (ImageMagick would switch to 4:4:4 from Q90), as our JPEG outputs always were.
        return magick.ToByteArray(new JpegWriteDefines { SamplingFactor = JpegSamplingFactor.Ratio420 });
    }

    /// <summary>Decodes a PNG/JPEG file to RGBA (for tests and references).</summary>
    public static RgbaImage Load(string path)
    {
        try
        {
            using var image = new MagickImage(path);
            if (image.ColorSpace is not (ColorSpace.sRGB or ColorSpace.Gray))
            {
                image.ColorSpace = ColorSpace.sRGB;
            }
            return new RgbaImage((int)image.Width, (int)image.Height, MagickPixels.ToPixels(image, "RGBA"));
        }
        catch (MagickException ex)
        {
            throw new InvalidDataException($"{path}: not a decodable image ({ex.Message.ReplaceLineEndings(" ").Trim()})", ex);
        }
    }
}
