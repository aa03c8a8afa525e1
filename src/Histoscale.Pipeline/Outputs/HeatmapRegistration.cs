using System.Text.Json;
using System.Text.Json.Serialization;

namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Where the heatmap lies on the slide, so that any tool can place it without guessing. Pixel (i, j) of the
/// heatmap's first page covers level-0 pixels [Origin.x + i·Scale, Origin.x + (i+1)·Scale) ×
/// [Origin.y + j·Scale, Origin.y + (j+1)·Scale); page n of its pyramid has Scale·2ⁿ. Width and Height are the
/// fewest pixels that cover the slide, ceil(slide / Scale), so the heatmap's extent is the slide's within one
/// heatmap pixel and a viewer that stretches it over the slide's bounds misplaces nothing by more than that.
/// MppX/MppY are the heatmap's µm per pixel (its resolution tags): the slide's × Scale, null when the slide gives none.
/// The same record goes into the heatmap's ImageDescription, the DSA annotation's attributes and run.json.
/// </summary>
public sealed record HeatmapRegistration
{
    /// <summary>Level-0 position of the heatmap's top-left corner (x, y).</summary>
    public double[] Origin { get; init; } = [0, 0];

    /// <summary>Level-0 pixels per heatmap pixel, in both axes.</summary>
    public double Scale { get; init; }

    /// <summary>Heatmap width in its own pixels (first page).</summary>
    public int Width { get; init; }

    /// <summary>Heatmap height in its own pixels (first page).</summary>
    public int Height { get; init; }

    /// <summary>Level-0 width of the slide the heatmap belongs to.</summary>
    public long SlideWidth { get; init; }

    /// <summary>Level-0 height of the slide the heatmap belongs to.</summary>
    public long SlideHeight { get; init; }

    // Written as null when unknown (run.json leaves other nulls out), so the record has the same keys everywhere.
    /// <summary>Heatmap µm per pixel horizontally (slide's × <see cref="Scale"/>); null when the slide gives none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public double? MppX { get; init; }

    /// <summary>Heatmap µm per pixel vertically (slide's × <see cref="Scale"/>); null when the slide gives none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public double? MppY { get; init; }

    /// <summary>
    /// The heatmap over a whole slide, from its top-left corner, at <paramref name="scale"/> level-0 pixels per
    /// heatmap pixel; never larger than what was painted (<paramref name="maxWidth"/> × <paramref name="maxHeight"/>).
    /// A slide that gives µm/px in one axis only is taken to be square-pixelled, as the tile planner takes it.
    /// </summary>
    public static HeatmapRegistration Cover(long slideWidth, long slideHeight, double scale, int maxWidth, int maxHeight, double? slideMppX, double? slideMppY)
    {
        var mx = slideMppX is > 0 ? slideMppX : slideMppY is > 0 ? slideMppY : null;
        var my = slideMppY is > 0 ? slideMppY : mx;
        return new HeatmapRegistration
        {
            Scale = scale,
            Width = Math.Clamp(PixelsToCover(slideWidth, scale), 1, Math.Max(1, maxWidth)),
            Height = Math.Clamp(PixelsToCover(slideHeight, scale), 1, Math.Max(1, maxHeight)),
            SlideWidth = slideWidth,
            SlideHeight = slideHeight,
            MppX = mx * scale,
            MppY = my * scale,
        };
    }

    /// <summary>ceil(extent / pixel), where a quotient within a millionth of a whole number counts as that number (rounding, not overhang).</summary>
    public static int PixelsToCover(long extent, double pixel) => (int)Math.Ceiling((extent / pixel) - 1e-6);

    /// <summary>The record as a JSON object (the ImageDescription and DSA form; run.json serialises the same names).</summary>
    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("origin");
        json.WriteNumberValue(Origin[0]);
        json.WriteNumberValue(Origin[1]);
        json.WriteEndArray();
        json.WriteNumber("scale", Scale);
        json.WriteNumber("width", Width);
        json.WriteNumber("height", Height);
        json.WriteNumber("slideWidth", SlideWidth);
        json.WriteNumber("slideHeight", SlideHeight);
        WriteNullable(json, "mppX", MppX);
        WriteNullable(json, "mppY", MppY);
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
