using System.Text.Json;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes a Digital Slide Archive (HistomicsUI) annotation document: <c>name</c>, <c>description</c>,
/// <c>attributes.heatmap</c> (the <see cref="HeatmapRegistration"/> of the heatmap TIFF) and <c>elements</c> — a
/// closed <c>polyline</c> per class region (points [x, y, 0] in level-0 pixels, holes in <c>holes</c>, grouped and
/// labelled by class) and a <c>griddata</c> element with <c>interpretation: "heatmap"</c> per mapped class
/// (row-major values, origin, dx, dy, gridWidth). HistomicsUI draws value i at origin + (i mod gridWidth)·dx,
/// so a value, the mean of a dx × dy cell whose corners lie on the registration's grid, sits at its cell's centre.
/// Grids larger than <see cref="MaxGridValues"/> are averaged down by whole factors so the document stays importable.
/// </summary>
internal static class DsaAnnotationWriter
{
    public const int MaxGridValues = 262_144;
    public const int MaxGridElements = 16;

    public static void Write(string path, string name, string description, IReadOnlyList<ClassRegion> regions,
        float[] values, byte[] foreground, int width, int height, int channels, ClassPalette palette, double cellLevel0,
        HeatmapRegistration registration) =>
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("description", description);
            // Element schemas are closed; the annotation's attributes are free-form and carry the heatmap's placement.
            json.WriteStartObject("attributes");
            json.WritePropertyName("heatmap");
            registration.WriteTo(json);
            json.WriteEndObject();
            json.WriteStartArray("elements");
            foreach (var region in regions)
            {
                var (r, g, b) = region.Color;
                foreach (var polygon in region.Polygons)
                {
                    json.WriteStartObject();
                    json.WriteString("type", "polyline");
                    json.WriteBoolean("closed", true);
                    json.WriteString("group", region.Name);
                    json.WriteStartObject("label");
                    json.WriteString("value", region.Name);
                    json.WriteEndObject();
                    json.WriteString("lineColor", $"rgb({r},{g},{b})");
                    json.WriteNumber("lineWidth", 2);
                    json.WriteString("fillColor", $"rgba({r},{g},{b},0.25)");
                    json.WritePropertyName("points");
                    WritePoints(json, polygon.Outer);
                    if (polygon.Holes.Count > 0)
                    {
                        json.WriteStartArray("holes");
                        foreach (var hole in polygon.Holes)
                        {
                            WritePoints(json, hole);
                        }
                        json.WriteEndArray();
                    }
                    json.WriteEndObject();
                }
                json.Flush();
            }

            var factor = 1;
            while ((long)DivUp(width, factor) * DivUp(height, factor) > MaxGridValues)
            {
                factor *= 2;
            }
            var gw = DivUp(width, factor);
            var gh = DivUp(height, factor);
            var step = Math.Round(cellLevel0 * factor, 4);
            var written = 0;
            for (var c = 0; c < channels && written < MaxGridElements; c++)
            {
                if (palette.IsBackground(c))
                {
                    continue;
                }
                written++;
                var (r, g, b) = palette.Colors[c];
                json.WriteStartObject();
                json.WriteString("type", "griddata");
                json.WriteString("interpretation", "heatmap");
                json.WriteString("group", palette.Names[c]);
                json.WriteStartObject("label");
                json.WriteString("value", palette.Names[c]);
                json.WriteEndObject();
                json.WriteStartArray("origin");
                json.WriteNumberValue(Math.Round(registration.Origin[0] + (step / 2), 4));
                json.WriteNumberValue(Math.Round(registration.Origin[1] + (step / 2), 4));
                json.WriteNumberValue(0);
                json.WriteEndArray();
                json.WriteNumber("dx", step);
                json.WriteNumber("dy", step);
                json.WriteNumber("gridWidth", gw);
                json.WriteString("minColor", $"rgba({r},{g},{b},0)");
                json.WriteString("maxColor", $"rgba({r},{g},{b},1)");
                json.WriteStartArray("values");
                for (var gy = 0; gy < gh; gy++)
                {
                    for (var gx = 0; gx < gw; gx++)
                    {
                        double sum = 0;
                        var n = 0;
                        for (var y = gy * factor; y < Math.Min(height, (gy + 1) * factor); y++)
                        {
                            for (var x = gx * factor; x < Math.Min(width, (gx + 1) * factor); x++)
                            {
                                var i = (y * width) + x;
                                if (foreground[i] != 0)
                                {
                                    sum += values[(i * channels) + c];
                                    n++;
                                }
                            }
                        }
                        // Background cells are 0: the griddata schema has no "missing" value.
                        json.WriteNumberValue(n == 0 ? 0 : Math.Round(sum / n, 6));
                    }
                }
                json.WriteEndArray();
                json.WriteEndObject();
                json.Flush();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });

    private static int DivUp(int a, int b) => (a + b - 1) / b;

    private static void WritePoints(Utf8JsonWriter json, IReadOnlyList<(double X, double Y)> ring)
    {
        json.WriteStartArray();
        // DSA closes a "closed" polyline itself: the repeated first point is left out.
        var count = ring.Count > 1 && ring[0] == ring[^1] ? ring.Count - 1 : ring.Count;
        for (var i = 0; i < count; i++)
        {
            var (x, y) = ring[i];
            json.WriteStartArray();
            json.WriteNumberValue(x);
            json.WriteNumberValue(y);
            json.WriteNumberValue(0);
            json.WriteEndArray();
        }
        json.WriteEndArray();
    }
}
