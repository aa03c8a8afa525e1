using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Archive.Data;

namespace Histoscale.Archive.Annotations;

/// <summary>A request body that is not a valid annotation: a 400 naming the field (<c>elements[3].center[1]</c>).</summary>
internal sealed class AnnotationInputException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
}

/// <summary>A validated annotation: the document to store, and its elements with bounding boxes.</summary>
internal sealed record ParsedAnnotation(string Name, JsonObject Document, IReadOnlyList<StoredElement> Elements);

/// <summary>
/// The Digital Slide Archive (HistomicsUI) annotation document: <c>name</c>, <c>description</c>, <c>elements</c>
/// of type point, rectangle, circle, ellipse, polyline (<c>closed</c>, <c>holes</c>), heatmap and griddata, in
/// level-0 pixel coordinates. Each element type's required fields are checked, with the offending field named; an
/// element without an <c>id</c> gets one. A wrapper <c>{"annotation": {...}}</c> (as DSA exports) is accepted.
/// </summary>
internal static class DsaDocument
{
    public static readonly string[] ElementTypes = ["point", "rectangle", "circle", "ellipse", "polyline", "heatmap", "griddata"];

    public static ParsedAnnotation Parse(JsonNode? root)
    {
        if (root is not JsonObject outer)
        {
            throw new AnnotationInputException("body", "must be a JSON object (a DSA annotation document)");
        }
        var doc = outer["annotation"] is JsonObject inner ? inner : outer;
        doc = (JsonObject)doc.DeepClone();
        var name = doc["name"] switch
        {
            null => throw new AnnotationInputException("name", "is required"),
            JsonValue v when v.TryGetValue<string>(out var s) && s.Trim().Length > 0 => s,
            _ => throw new AnnotationInputException("name", "must be a non-empty string"),
        };
        if (name.Length > 500)
        {
            throw new AnnotationInputException("name", "is longer than 500 characters");
        }
        if (doc["description"] is { } d && !(d is JsonValue dv && dv.TryGetValue<string>(out _)))
        {
            throw new AnnotationInputException("description", "must be a string");
        }
        if (doc["elements"] is not JsonArray elements)
        {
            throw new AnnotationInputException("elements", doc["elements"] is null ? "is required (an array, possibly empty)" : "must be an array");
        }
        var stored = new List<StoredElement>(elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            var field = $"elements[{i}]";
            if (elements[i] is not JsonObject element)
            {
                throw new AnnotationInputException(field, "must be an object");
            }
            if (element["id"] is null)
            {
                element["id"] = SqlArchiveRepository.NewId();
            }
            else if (!IsString(element["id"]))
            {
                throw new AnnotationInputException(field + ".id", "must be a string");
            }
            var (x0, y0, x1, y1) = Validate(element, field);
            stored.Add(new StoredElement(i, (string)element["type"]!, x0, y0, x1, y1, element.ToJsonString()));
        }
        return new ParsedAnnotation(name, doc, stored);
    }

    /// <summary>Checks one element; returns its level-0 bounding box.</summary>
    private static (double, double, double, double) Validate(JsonObject e, string field)
    {
        var type = e["type"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : null;
        if (type is null)
        {
            throw new AnnotationInputException(field + ".type", $"is required: one of {string.Join(", ", ElementTypes)}");
        }
        foreach (var colour in (string[])["lineColor", "fillColor", "group"])
        {
            if (e[colour] is { } c && !IsString(c))
            {
                throw new AnnotationInputException($"{field}.{colour}", "must be a string");
            }
        }
        if (e["label"] is { } label && (label is not JsonObject lo || (lo["value"] is { } lv && !IsString(lv))))
        {
            throw new AnnotationInputException(field + ".label", "must be an object with a string 'value'");
        }
        switch (type)
        {
            case "point":
                {
                    var (x, y) = Point(e["center"], field + ".center");
                    return (x, y, x, y);
                }
            case "rectangle":
            case "ellipse":
                {
                    var (x, y) = Point(e["center"], field + ".center");
                    var w = NonNegative(e["width"], field + ".width");
                    var h = NonNegative(e["height"], field + ".height");
                    var rotation = e["rotation"] is null ? 0 : Number(e["rotation"], field + ".rotation");
                    var (c, s) = (Math.Abs(Math.Cos(rotation)), Math.Abs(Math.Sin(rotation)));
                    var hx = ((w * c) + (h * s)) / 2;
                    var hy = ((w * s) + (h * c)) / 2;
                    return (x - hx, y - hy, x + hx, y + hy);
                }
            case "circle":
                {
                    var (x, y) = Point(e["center"], field + ".center");
                    var r = NonNegative(e["radius"], field + ".radius");
                    return (x - r, y - r, x + r, y + r);
                }
            case "polyline":
                {
                    var box = Points(e["points"], field + ".points", 2, minimum: 2);
                    if (e["closed"] is { } closed && closed.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        throw new AnnotationInputException(field + ".closed", "must be true or false");
                    }
                    if (e["holes"] is { } holes)
                    {
                        if (holes is not JsonArray ha)
                        {
                            throw new AnnotationInputException(field + ".holes", "must be an array of point arrays");
                        }
                        for (var i = 0; i < ha.Count; i++)
                        {
                            Points(ha[i], $"{field}.holes[{i}]", 2, minimum: 3);
                        }
                    }
                    return box;
                }
            case "heatmap":
                {
                    var (x0, y0, x1, y1) = Points(e["points"], field + ".points", 4, minimum: 1);
                    var r = e["radius"] is null ? 0 : NonNegative(e["radius"], field + ".radius");
                    return (x0 - r, y0 - r, x1 + r, y1 + r);
                }
            case "griddata":
                {
                    if (e["values"] is not JsonArray values || values.Count == 0)
                    {
                        throw new AnnotationInputException(field + ".values", "is required: a non-empty array of numbers");
                    }
                    for (var i = 0; i < values.Count; i++)
                    {
                        Number(values[i], $"{field}.values[{i}]");
                    }
                    var gridWidth = e["gridWidth"] is JsonValue gv && gv.TryGetValue<int>(out var gw) && gw > 0
                        ? gw : throw new AnnotationInputException(field + ".gridWidth", "is required: a positive integer");
                    double Opt(string name, double fallback) => e[name] is null ? fallback : Number(e[name], $"{field}.{name}");
                    var (ox, oy, dx, dy) = (Opt("x0", 0), Opt("y0", 0), Opt("dx", 1), Opt("dy", 1));
                    var rows = (values.Count + gridWidth - 1) / gridWidth;
                    return (Math.Min(ox, ox + (dx * gridWidth)), Math.Min(oy, oy + (dy * rows)), Math.Max(ox, ox + (dx * gridWidth)), Math.Max(oy, oy + (dy * rows)));
                }
            default:
                throw new AnnotationInputException(field + ".type", $"'{type}' is not one of {string.Join(", ", ElementTypes)}");
        }
    }

    private static bool IsString(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out _);

    private static double Number(JsonNode? node, string field)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && double.IsFinite(d))
        {
            return d;
        }
        throw new AnnotationInputException(field, node is null ? "is required (a number)" : "must be a finite number");
    }

    private static double NonNegative(JsonNode? node, string field)
    {
        var d = Number(node, field);
        return d >= 0 ? d : throw new AnnotationInputException(field, "must not be negative");
    }

    private static (double X, double Y) Point(JsonNode? node, string field)
    {
        if (node is not JsonArray a || a.Count is < 2 or > 3)
        {
            throw new AnnotationInputException(field, "is required: [x, y] or [x, y, z]");
        }
        var x = Number(a[0], field + "[0]");
        var y = Number(a[1], field + "[1]");
        if (a.Count == 3)
        {
            Number(a[2], field + "[2]");
        }
        return (x, y);
    }

    private static (double, double, double, double) Points(JsonNode? node, string field, int minCoordinates, int minimum)
    {
        if (node is not JsonArray a || a.Count < minimum)
        {
            throw new AnnotationInputException(field, $"is required: an array of at least {minimum} points");
        }
        double x0 = double.MaxValue, y0 = double.MaxValue, x1 = double.MinValue, y1 = double.MinValue;
        for (var i = 0; i < a.Count; i++)
        {
            var pf = $"{field}[{i}]";
            if (a[i] is not JsonArray p || p.Count < minCoordinates || p.Count > Math.Max(3, minCoordinates))
            {
                throw new AnnotationInputException(pf, minCoordinates == 4 ? "must be [x, y, z, value]" : "must be [x, y] or [x, y, z]");
            }
            var x = Number(p[0], pf + "[0]");
            var y = Number(p[1], pf + "[1]");
            for (var k = 2; k < p.Count; k++)
            {
                Number(p[k], $"{pf}[{k}]");
            }
            (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
        }
        return (x0, y0, x1, y1);
    }
}
