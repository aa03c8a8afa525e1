using System.Text.Json;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes class regions as a GeoJSON FeatureCollection that QuPath imports as annotations: one Polygon feature
/// per region (outer ring, then holes), coordinates in level-0 pixels, <c>properties.objectType</c> "annotation"
/// and <c>properties.classification</c> {name, color: [r, g, b]} as QuPath writes them.
/// </summary>
internal static class GeoJsonWriter
{
    public static void Write(string path, IReadOnlyList<ClassRegion> regions) => AtomicFile.Write(path, stream =>
    {
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("type", "FeatureCollection");
        json.WriteStartArray("features");
        foreach (var region in regions)
        {
            foreach (var polygon in region.Polygons)
            {
                json.WriteStartObject();
                json.WriteString("type", "Feature");
                json.WriteStartObject("geometry");
                json.WriteString("type", "Polygon");
                json.WriteStartArray("coordinates");
                WriteRing(json, polygon.Outer);
                foreach (var hole in polygon.Holes)
                {
                    WriteRing(json, hole);
                }
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteStartObject("properties");
                json.WriteString("objectType", "annotation");
                json.WriteString("name", region.Name);
                json.WriteStartObject("classification");
                json.WriteString("name", region.Name);
                json.WriteStartArray("color");
                json.WriteNumberValue(region.Color.R);
                json.WriteNumberValue(region.Color.G);
                json.WriteNumberValue(region.Color.B);
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.Flush();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    });

    private static void WriteRing(Utf8JsonWriter json, IReadOnlyList<(double X, double Y)> ring)
    {
        json.WriteStartArray();
        foreach (var (x, y) in ring)
        {
            json.WriteStartArray();
            json.WriteNumberValue(x);
            json.WriteNumberValue(y);
            json.WriteEndArray();
        }
        json.WriteEndArray();
    }
}
