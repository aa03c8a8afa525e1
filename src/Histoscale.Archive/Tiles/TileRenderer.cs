using System.Buffers;
using Histoscale.Archive.Catalog;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Archive.Tiles;

/// <summary>An encoded image response: bytes, media type, and whether stored bytes were passed through untouched.</summary>
internal sealed record EncodedImage(byte[] Bytes, string ContentType, bool PassedThrough);

/// <summary>
/// Produces Deep Zoom tiles, regions and thumbnails. A Deep Zoom tile whose level coincides with a stored level of
/// the same tile grid, and that is not cut by the image edge, is the stored JPEG as it is (decoded once to verify
/// it, never re-encoded); any other is read from the best stored level for its downsample and resampled.
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
                Verify(slide, stored, col, row);
                return new EncodedImage(jpeg, "image/jpeg", true);
            }
        }
        var image = Render(slide, x * downsample, y * downsample, width * downsample, height * downsample, width, height);
        return Encode(image, format);
    }

    /// <summary>
    /// Decodes a stored tile before its bytes are passed through, so corrupt data (a bad Huffman code, scrambled
    /// entropy-coded data between intact start and end markers) is the tile's <see cref="SlideException"/> (a 5xx
    /// naming the tile) and never an image a viewer would draw. The pixels are dropped; the encoded-tile cache keeps
    /// the verified bytes, so a tile is decoded once per cache lifetime, not per request.
    /// </summary>
    private static void Verify(Slide slide, int level, long col, long row)
    {
        var lvl = slide.Levels[level];
        var size = lvl.TileWidth * lvl.TileHeight * 4;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            slide.ReadTile(level, col, row, buffer.AsSpan(0, size));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
    /// Source pixels (at the level read) above which a render streams: the level is read a band of
    /// <see cref="StreamRows"/> rows by <see cref="StreamColumns"/> columns at a time and area-averaged into the output
    /// as it goes, so a request needs the output plus one band whatever the slide (a single-level 50k × 50k image
    /// included). Below it, the region is read whole and resampled (with OpenSlide's sub-pixel placement).
    /// </summary>
    public const long DirectReadPixels = 4L * 1024 * 1024;

    internal const int StreamRows = 256;
    internal const int StreamColumns = 2048;

    /// <summary>
    /// The level-0 rectangle (x, y, w, h) scaled to outWidth × outHeight, read from the best level for that
    /// downsample; pixels outside the slide are transparent. Memory is bounded by the output and
    /// <paramref name="directReadPixels"/>, never by the rectangle.
    /// </summary>
    public static RgbaImage Render(Slide slide, long x, long y, long w, long h, int outWidth, int outHeight, long directReadPixels = DirectReadPixels)
    {
        var downsample = Math.Max((double)w / outWidth, (double)h / outHeight);
        var level = slide.GetBestLevelForDownsample(downsample);
        var ds = slide.Levels[level].Downsample;
        var readWidth = (long)Math.Max(1, Math.Ceiling(w / ds));
        var readHeight = (long)Math.Max(1, Math.Ceiling(h / ds));
        if (readWidth * readHeight > directReadPixels)
        {
            var lx = (long)Math.Floor(x / ds);
            var ly = (long)Math.Floor(y / ds);
            // Reduce to at most the output's size in each axis, then enlarge where the output is larger (an axis
            // whose level pixels are fewer than the output's, as a rounding or an odd aspect can make it).
            var tw = (int)Math.Min(outWidth, readWidth);
            var th = (int)Math.Min(outHeight, readHeight);
            var reduced = Stream(slide, level, lx, ly, readWidth, readHeight, tw, th);
            return tw == outWidth && th == outHeight ? reduced : Resample(reduced, outWidth, outHeight);
        }
        var source = slide.ReadRegion(level, x, y, (int)readWidth, (int)readHeight);
        return readWidth == outWidth && readHeight == outHeight ? source : Resample(source, outWidth, outHeight);
    }

    /// <summary>
    /// Area-averages level pixels [lx, lx + readWidth) × [ly, ly + readHeight) into outWidth × outHeight (each at most
    /// the read size), reading them band by band: source pixel (i, j) counts towards output pixel
    /// (i·outWidth/readWidth, j·outHeight/readHeight). Memory: the output, one band of output rows' sums, one chunk.
    /// </summary>
    internal static RgbaImage Stream(Slide slide, int level, long lx, long ly, long readWidth, long readHeight, int outWidth, int outHeight)
    {
        var output = new byte[outWidth * outHeight * 4];
        // Output rows summed at once: enough to cover StreamRows level rows (so a tile row is decoded at most twice),
        // within 256K output pixels (8 MB of sums: 8 bytes a channel).
        var bandRows = (int)Math.Clamp(CeilDiv(StreamRows * (long)outHeight, readHeight), 1, Math.Max(1, (256 * 1024) / outWidth));
        var sums = new long[bandRows * outWidth * 4];
        var counts = new long[bandRows * outWidth];
        var columnOf = new int[(int)Math.Min(StreamColumns, readWidth)];
        var chunk = ArrayPool<byte>.Shared.Rent(StreamColumns * StreamRows * 4);
        try
        {
            for (var oy0 = 0; oy0 < outHeight; oy0 += bandRows)
            {
                var oy1 = Math.Min(outHeight, oy0 + bandRows);
                // Level rows j with floor(j·outHeight/readHeight) in [oy0, oy1).
                var j0 = CeilDiv(oy0 * readHeight, outHeight);
                var j1 = CeilDiv(oy1 * readHeight, outHeight);
                Array.Clear(sums);
                Array.Clear(counts);
                for (var cy = j0; cy < j1; cy += StreamRows)
                {
                    var ch = (int)Math.Min(StreamRows, j1 - cy);
                    for (long cx = 0; cx < readWidth; cx += StreamColumns)
                    {
                        var cw = (int)Math.Min(StreamColumns, readWidth - cx);
                        slide.ReadLevelRegion(level, lx + cx, ly + cy, cw, ch, chunk);
                        for (var i = 0; i < cw; i++)
                        {
                            columnOf[i] = (int)((cx + i) * outWidth / readWidth);
                        }
                        for (var r = 0; r < ch; r++)
                        {
                            var band = (int)(((cy + r) * outHeight / readHeight) - oy0);
                            var rowSums = sums.AsSpan(band * outWidth * 4, outWidth * 4);
                            var rowCounts = counts.AsSpan(band * outWidth, outWidth);
                            var src = chunk.AsSpan(r * cw * 4, cw * 4);
                            for (var i = 0; i < cw; i++)
                            {
                                var o = columnOf[i];
                                var s = i * 4;
                                rowSums[o * 4] += src[s];
                                rowSums[(o * 4) + 1] += src[s + 1];
                                rowSums[(o * 4) + 2] += src[s + 2];
                                rowSums[(o * 4) + 3] += src[s + 3];
                                rowCounts[o]++;
                            }
                        }
                    }
                }
                for (var b = 0; b < oy1 - oy0; b++)
                {
                    for (var o = 0; o < outWidth; o++)
                    {
                        var n = Math.Max(1, counts[(b * outWidth) + o]);
                        var at = (((oy0 + b) * outWidth) + o) * 4;
                        var from = ((b * outWidth) + o) * 4;
                        for (var c = 0; c < 4; c++)
                        {
                            output[at + c] = (byte)((sums[from + c] + (n / 2)) / n);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return new RgbaImage(outWidth, outHeight, output);
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>
    /// A thumbnail whose longer side is <paramref name="maxSize"/> (never enlarged), rendered like a region: from the
    /// best level, streamed when that level is large, so memory is the output's plus one band.
    /// </summary>
    public static RgbaImage Thumbnail(Slide slide, int maxSize)
    {
        var scale = Math.Max(1.0, (double)Math.Max(slide.Width, slide.Height) / maxSize);
        var width = (int)Math.Max(1, Math.Round(slide.Width / scale));
        var height = (int)Math.Max(1, Math.Round(slide.Height / scale));
        return Render(slide, 0, 0, slide.Width, slide.Height, width, height);
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
