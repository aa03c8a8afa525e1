using System.Text.Json;
using Histoscale.Slides.Tiff;
using Histoscale.Slides.Writing;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes the heatmap as a pyramidal tiled TIFF (RGBA, deflate, 256-px tiles; each further page halves the
/// previous, area-averaged with alpha weighting, until it fits one tile). Resolution tags give the µm per heatmap
/// pixel in each axis, so viewers that honour them (QuPath, libvips-based tools) overlay it on the slide; the
/// legend and the <see cref="HeatmapRegistration"/> are JSON in the ImageDescription.
/// </summary>
internal static class HeatmapTiffWriter
{
    public const int TileSize = 256;

    /// <summary>Writes <paramref name="rgba"/>, <see cref="HeatmapRegistration.Width"/> × <see cref="HeatmapRegistration.Height"/> pixels.</summary>
    public static void Write(string path, byte[] rgba, HeatmapRegistration registration, HeatmapLegend legend)
    {
        var (width, height) = (registration.Width, registration.Height);
        if (rgba.LongLength != (long)width * height * 4)
        {
            throw new ArgumentException($"{rgba.LongLength} bytes are not a {width}×{height} RGBA heatmap", nameof(rgba));
        }
        var description = Description(legend, registration);
        double? ppcmX = registration.MppX is { } mx && mx > 0 ? 10000.0 / mx : null;
        double? ppcmY = registration.MppY is { } my && my > 0 ? 10000.0 / my : null;
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
                    PixelsPerCmX = ppcmX / (1 << level),
                    PixelsPerCmY = ppcmY / (1 << level),
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

    /// <summary>
    /// The legend and the registration as JSON for the ImageDescription, written field by field (the format readers
    /// rely on); micronsPerPixel, the mean of the two axes, predates the registration and stays for older readers.
    /// </summary>
    private static string Description(HeatmapLegend legend, HeatmapRegistration registration)
    {
        var micronsPerPixel = (registration.MppX + registration.MppY) / 2;
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
            json.WritePropertyName("registration");
            registration.WriteTo(json);
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
