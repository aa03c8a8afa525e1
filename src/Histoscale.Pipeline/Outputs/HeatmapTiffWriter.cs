using System.Text.Json;
using Histoscale.Slides.Tiff;
using Histoscale.Slides.Writing;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes the heatmap as a pyramidal tiled TIFF (RGBA, deflate, 256-px tiles; each further page halves the
/// previous, area-averaged with alpha weighting, until it fits one tile). Resolution tags give the µm per heatmap
/// pixel, so viewers that honour them (QuPath, libvips-based tools) overlay it on the slide; the legend is JSON
/// in the ImageDescription.
/// </summary>
public static class HeatmapTiffWriter
{
    public const int TileSize = 256;

    public static void Write(string path, byte[] rgba, int width, int height, double? micronsPerPixel, HeatmapLegend legend)
    {
        var description = Description(legend, micronsPerPixel);
        double? ppcm = micronsPerPixel is { } m && m > 0 ? 10000.0 / m : null;
        AtomicFile.Write(path, stream =>
        {
            // Tiles of a row are compressed on every core and written in order, so the file is the same bytes either way.
            using var writer = new TiffWriter(stream, new TiffWriterOptions(), leaveOpen: true);
            var (image, w, h, level) = (rgba, width, height, 0);
            while (true)
            {
                var page = writer.AddPage(new TiffPageOptions
                {
                    Width = w,
                    Height = h,
                    SamplesPerPixel = 4,
                    ExtraSample = 2, // unassociated alpha: transparent background
                    TileWidth = TileSize,
                    TileHeight = TileSize,
                    Compression = TiffWriteCompression.Deflate,
                    HorizontalPredictor = true,
                    NewSubfileType = level == 0 ? 0 : 1,
                    Description = level == 0 ? description : null,
                    Software = level == 0 ? "histoscale" : null,
                    PixelsPerCmX = ppcm / (1 << level),
                    PixelsPerCmY = ppcm / (1 << level),
                });
                for (var row = 0; row < page.TilesDown; row++)
                {
                    page.WriteTileRow(row, image.AsMemory(row * TileSize * w * 4), w * 4);
                }
                if (w <= TileSize && h <= TileSize)
                {
                    break;
                }
                (image, w, h) = Halve(image, w, h);
                level++;
            }
            writer.Finish();
        });
    }

    /// <summary>The legend as JSON for the ImageDescription, written field by field (the format readers rely on).</summary>
    private static string Description(HeatmapLegend legend, double? micronsPerPixel)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("histoscale", "heatmap");
            json.WriteString("mode", legend.Mode);
            json.WriteStartArray("classes");
            foreach (var c in legend.Classes)
            {
                json.WriteStringValue(c);
            }
            json.WriteEndArray();
            json.WriteStartArray("colors");
            foreach (var c in legend.Colors)
            {
                json.WriteStringValue(c);
            }
            json.WriteEndArray();
            json.WriteNumber("min", legend.Min);
            json.WriteNumber("max", legend.Max);
            if (micronsPerPixel is { } m)
            {
                json.WriteNumber("micronsPerPixel", m);
            }
            else
            {
                json.WriteNull("micronsPerPixel");
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>2×2 area average; colour weighted by alpha so transparent background does not darken edges.</summary>
    private static (byte[] Image, int Width, int Height) Halve(byte[] src, int w, int h)
    {
        var nw = (w + 1) / 2;
        var nh = (h + 1) / 2;
        var dst = new byte[nw * nh * 4];
        for (var y = 0; y < nh; y++)
        {
            for (var x = 0; x < nw; x++)
            {
                int r = 0, g = 0, b = 0, a = 0, n = 0;
                for (var dy = 0; dy < 2; dy++)
                {
                    for (var dx = 0; dx < 2; dx++)
                    {
                        var sx = (2 * x) + dx;
                        var sy = (2 * y) + dy;
                        if (sx >= w || sy >= h)
                        {
                            continue;
                        }
                        var p = ((sy * w) + sx) * 4;
                        var pa = src[p + 3];
                        r += src[p] * pa;
                        g += src[p + 1] * pa;
                        b += src[p + 2] * pa;
                        a += pa;
                        n++;
                    }
                }
                var o = ((y * nw) + x) * 4;
                if (a > 0)
                {
                    dst[o] = (byte)((r + (a / 2)) / a);
                    dst[o + 1] = (byte)((g + (a / 2)) / a);
                    dst[o + 2] = (byte)((b + (a / 2)) / a);
                    dst[o + 3] = (byte)((a + (n / 2)) / n);
                }
            }
        }
        return (dst, nw, nh);
    }
}
