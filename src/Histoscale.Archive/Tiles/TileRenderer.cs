using Histoscale.Archive.Catalog;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Archive.Tiles;

/// <summary>An encoded image response: bytes, media type, and whether stored bytes were passed through untouched.</summary>
internal sealed record EncodedImage(byte[] Bytes, string ContentType, bool PassedThrough);

/// <summary>
/// Produces Deep Zoom tiles, regions and thumbnails. A Deep Zoom tile whose level coincides with a stored level of
/// the same tile grid, and that is not cut by the image edge, is the stored JPEG as it is (no decode, no
/// re-encode); any other is read from the best stored level for its downsample and resampled.
/// </summary>
internal static class TileRenderer
{
    public const int JpegQuality = 90;

    public static EncodedImage DeepZoomTile(Slide slide, DeepZoomGeometry geometry, int level, long col, long row, ImageFileFormat format)
    {
        var (x, y, width, height) = geometry.TileRect(level, col, row);
        var downsample = geometry.Downsample(level);
        if (format == ImageFileFormat.Jpeg && width == geometry.TileSize && height == geometry.TileSize && StoredLevel(slide, geometry, level) is { } stored)
        {
            if (slide.ReadStoredJpegTile(stored, col, row) is { } jpeg)
            {
                return new EncodedImage(jpeg, "image/jpeg", true);
            }
        }
        var image = Render(slide, x * downsample, y * downsample, width * downsample, height * downsample, width, height);
        return Encode(image, format);
    }

    /// <summary>The stored level with exactly this Deep Zoom level's size and tile grid, if any.</summary>
    internal static int? StoredLevel(Slide slide, DeepZoomGeometry geometry, int level)
    {
        var (w, h) = geometry.LevelSize(level);
        foreach (var l in slide.Levels)
        {
            if (l.Width == w && l.Height == h && l.TileWidth == geometry.TileSize && l.TileHeight == geometry.TileSize)
            {
                return l.Index;
            }
        }
        return null;
    }

    /// <summary>
    /// The level-0 rectangle (x, y, w, h) scaled to outWidth × outHeight, read from the best level for that
    /// downsample; pixels outside the slide are transparent.
    /// </summary>
    public static RgbaImage Render(Slide slide, long x, long y, long w, long h, int outWidth, int outHeight)
    {
        var downsample = Math.Max((double)w / outWidth, (double)h / outHeight);
        var level = slide.GetBestLevelForDownsample(downsample);
        var ds = slide.Levels[level].Downsample;
        var readWidth = (int)Math.Max(1, Math.Ceiling(w / ds));
        var readHeight = (int)Math.Max(1, Math.Ceiling(h / ds));
        var source = slide.ReadRegion(level, x, y, readWidth, readHeight);
        return readWidth == outWidth && readHeight == outHeight ? source : Resample(source, outWidth, outHeight);
    }

    public static EncodedImage Encode(RgbaImage image, ImageFileFormat format)
    {
        if (format == ImageFileFormat.Jpeg)
        {
            FlattenOnWhite(image.Pixels);
        }
        return new EncodedImage(ImageFiles.Encode(image, format, JpegQuality), format == ImageFileFormat.Jpeg ? "image/jpeg" : "image/png", false);
    }

    /// <summary>JPEG has no alpha: transparent pixels (outside the slide) become white, as slide viewers show them.</summary>
    private static void FlattenOnWhite(Span<byte> rgba)
    {
        for (var i = 0; i < rgba.Length; i += 4)
        {
            var a = rgba[i + 3];
            if (a != 255)
            {
                rgba[i] = (byte)(((rgba[i] * a) + (255 * (255 - a)) + 127) / 255);
                rgba[i + 1] = (byte)(((rgba[i + 1] * a) + (255 * (255 - a)) + 127) / 255);
                rgba[i + 2] = (byte)(((rgba[i + 2] * a) + (255 * (255 - a)) + 127) / 255);
                rgba[i + 3] = 255;
            }
        }
    }

    /// <summary>Area-averaging resample (each output pixel averages the source pixels it covers; bilinear when enlarging).</summary>
    internal static RgbaImage Resample(RgbaImage source, int width, int height)
    {
        var output = new byte[width * height * 4];
        var sx = (double)source.Width / width;
        var sy = (double)source.Height / height;
        var src = source.Pixels;
        for (var oy = 0; oy < height; oy++)
        {
            var y0 = (int)Math.Floor(oy * sy);
            var y1 = Math.Max(y0 + 1, Math.Min(source.Height, (int)Math.Ceiling((oy + 1) * sy)));
            y0 = Math.Min(y0, source.Height - 1);
            for (var ox = 0; ox < width; ox++)
            {
                var x0 = (int)Math.Floor(ox * sx);
                var x1 = Math.Max(x0 + 1, Math.Min(source.Width, (int)Math.Ceiling((ox + 1) * sx)));
                x0 = Math.Min(x0, source.Width - 1);
                int r = 0, g = 0, b = 0, a = 0, n = 0;
                for (var yy = y0; yy < y1; yy++)
                {
                    var row = yy * source.Width * 4;
                    for (var xx = x0; xx < x1; xx++)
                    {
                        var i = row + (xx * 4);
                        r += src[i];
                        g += src[i + 1];
                        b += src[i + 2];
                        a += src[i + 3];
                        n++;
                    }
                }
                var o = ((oy * width) + ox) * 4;
                var half = n / 2;
                output[o] = (byte)((r + half) / n);
                output[o + 1] = (byte)((g + half) / n);
                output[o + 2] = (byte)((b + half) / n);
                output[o + 3] = (byte)((a + half) / n);
            }
        }
        return new RgbaImage(width, height, output);
    }
}
