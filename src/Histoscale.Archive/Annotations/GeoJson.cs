using System.Text.Json.Nodes;

namespace Histoscale.Archive.Annotations;

/// <summary>
/// GeoJSON as QuPath reads and writes it (a FeatureCollection in level-0 pixel coordinates, y down) to and from DSA
/// documents. Export: point → Point, open polyline → LineString, closed polyline → Polygon (holes as inner rings),
/// rectangle/circle/ellipse → Polygon outlines; heatmap and griddata have no GeoJSON shape and are left out.
/// Import: Point, MultiPoint, LineString, Polygon, MultiPolygon; the feature's <c>classification.name</c> or
/// <c>name</c> becomes the element's label, <c>classification.color</c> its colour.
/// </summary>
internal static class GeoJson
{
    public static bool IsFeatureCollection(JsonNode? node) => node is JsonObject o && o["type"] is JsonValue v && v.TryGetValue<string>(out var t) && t == "FeatureCollection";

    public static JsonObject Export(JsonObject document)
    {
        var features = new JsonArray();
        foreach (var node in document["elements"] as JsonArray ?? [])
        {
            if (node is not JsonObject e || Geometry(e) is not { } geometry)
            {
                continue;
            }
            var properties = new JsonObject { ["objectType"] = "annotation" };
            if (e["label"]?["value"] is { } label)
            {
                properties["name"] = label.DeepClone();
                properties["classification"] = new JsonObject { ["name"] = label.DeepClone() };
            }
            features.Add(new JsonObject { ["type"] = "Feature", ["id"] = e["id"]?.DeepClone(), ["geometry"] = geometry, ["properties"] = properties });
        }
        return new JsonObject { ["type"] = "FeatureCollection", ["features"] = features };
    }

    private static JsonObject? Geometry(JsonObject e)
    {
        var type = (string?)e["type"];
        switch (type)
        {
            case "point":
                return Shape("Point", XY(e["center"]!));
            case "polyline":
                {
                    var ring = Ring(e["points"]!.AsArray());
                    if (e["closed"] is { } c && (bool)c)
                    {
                        var rings = new JsonArray { Close(ring) };
                        foreach (var hole in e["holes"] as JsonArray ?? [])
                        {
                            rings.Add(Close(Ring(hole!.AsArray())));
                        }
                        return Shape("Polygon", rings);
                    }
                    return Shape("LineString", ring);
                }
            case "rectangle" or "ellipse" or "circle":
                {
                    var cx = (double)e["center"]![0]!;
                    var cy = (double)e["center"]![1]!;
                    var (w, h) = type == "circle" ? ((double)e["radius"]! * 2, (double)e["radius"]! * 2) : ((double)e["width"]!, (double)e["height"]!);
                    var rotation = e["rotation"] is { } r ? (double)r : 0;
                    var corners = type == "rectangle" ? 4 : 64;
                    var ring = new JsonArray();
                    for (var i = 0; i < corners; i++)
                    {
                        double ux, uy;
                        if (type == "rectangle")
                        {
                            (ux, uy) = i switch { 0 => (-0.5, -0.5), 1 => (0.5, -0.5), 2 => (0.5, 0.5), _ => (-0.5, 0.5) };
                        }
                        else
                        {
                            var a = 2 * Math.PI * i / corners;
                            (ux, uy) = (Math.Cos(a) / 2, Math.Sin(a) / 2);
                        }
                        var (px, py) = (ux * w, uy * h);
                        ring.Add(new JsonArray(cx + (px * Math.Cos(rotation)) - (py * Math.Sin(rotation)), cy + (px * Math.Sin(rotation)) + (py * Math.Cos(rotation))));
                    }
                    return Shape("Polygon", new JsonArray { Close(ring) });
                }
            default:
                return null;
        }
    }

    private static JsonObject Shape(string type, JsonNode coordinates) => new() { ["type"] = type, ["coordinates"] = coordinates };

    private static JsonArray XY(JsonNode point) => new((double)point[0]!, (double)point[1]!);

    private static JsonArray Ring(JsonArray points) => new([.. points.Select(p => (JsonNode)XY(p!))]);

    private static JsonArray Close(JsonArray ring)
    {
        if (ring.Count > 0 && ((double)ring[0]![0]! != (double)ring[^1]![0]! || (double)ring[0]![1]! != (double)ring[^1]![1]!))
        {
            ring.Add(ring[0]!.DeepClone());
        }
        return ring;
    }

    /// <summary>A DSA document from a FeatureCollection; shapes are checked again by <see cref="DsaDocument.Parse"/>.</summary>
    public static JsonObject Import(JsonObject collection, string name)
    {
        if (collection["features"] is not JsonArray features)
        {
            throw new AnnotationInputException("features", "is required: an array of GeoJSON Features");
        }
        var elements = new JsonArray();
        for (var i = 0; i < features.Count; i++)
        {
            var field = $"features[{i}]";
            if (features[i] is not JsonObject f || f["geometry"] is not JsonObject g)
            {
                throw new AnnotationInputException(field + ".geometry", "is required: a GeoJSON geometry object");
            }
            var label = f["properties"]?["classification"]?["name"] ?? f["properties"]?["name"];
            var colour = f["properties"]?["classification"]?["color"];
            void Add(JsonObject element)
            {
                if (label is JsonValue lv && lv.TryGetValue<string>(out var text))
                {
                    element["label"] = new JsonObject { ["value"] = text };
                }
                if (colour is JsonArray rgb && rgb.Count == 3)
                {
                    element["lineColor"] = $"rgb({rgb[0]},{rgb[1]},{rgb[2]})";
                }
                elements.Add(element);
            }
            var coordinates = g["coordinates"];
            var kind = g["type"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : "";
            try
            {
                switch (kind)
                {
                    case "Point":
                        Add(new JsonObject { ["type"] = "point", ["center"] = Xyz(coordinates) });
                        break;
                    case "MultiPoint":
                        foreach (var p in coordinates!.AsArray())
                        {
                            Add(new JsonObject { ["type"] = "point", ["center"] = Xyz(p) });
                        }
                        break;
                    case "LineString":
                        Add(new JsonObject { ["type"] = "polyline", ["closed"] = false, ["points"] = Points(coordinates, false) });
                        break;
                    case "Polygon":
                        Add(Polygon(coordinates));
                        break;
                    case "MultiPolygon":
                        foreach (var polygon in coordinates!.AsArray())
                        {
                            Add(Polygon(polygon));
                        }
                        break;
                    default:
                        throw new AnnotationInputException(field + ".geometry.type", $"'{kind}' is not Point, MultiPoint, LineString, Polygon or MultiPolygon");
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or NullReferenceException or ArgumentException)
            {
                throw new AnnotationInputException(field + ".geometry.coordinates", $"are not valid {kind} coordinates");
            }
        }
        return new JsonObject { ["name"] = name, ["elements"] = elements };
    }

    private static JsonObject Polygon(JsonNode? rings)
    {
        var list = rings!.AsArray();
        var element = new JsonObject { ["type"] = "polyline", ["closed"] = true, ["points"] = Points(list[0], true) };
        if (list.Count > 1)
        {
            element["holes"] = new JsonArray([.. list.Skip(1).Select(r => (JsonNode)Points(r, true))]);
        }
        return element;
    }

    private static JsonArray Points(JsonNode? ring, bool dropClosing)
    {
        var points = ring!.AsArray().Select(p => Xyz(p)).ToList();
        if (dropClosing && points.Count > 1 && (double)points[0][0]! == (double)points[^1][0]! && (double)points[0][1]! == (double)points[^1][1]!)
        {
            points.RemoveAt(points.Count - 1);
        }
        return new JsonArray([.. points.Cast<JsonNode>()]);
    }

    private static JsonArray Xyz(JsonNode? p) => new((double)p![0]!, (double)p[1]!, 0.0);
}
