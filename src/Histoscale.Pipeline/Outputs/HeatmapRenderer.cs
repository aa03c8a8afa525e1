namespace Histoscale.Pipeline.Outputs;

/// <summary>How map values became colours, recorded in the heatmap's ImageDescription and run.json.</summary>
internal sealed record HeatmapLegend(string Mode, IReadOnlyList<string> Classes, IReadOnlyList<string> Colors, float Min, float Max);

/// <summary>
/// Colours a stitched map. One channel: white → the class colour by the value's position in the slide's range.
/// Several channels that are probabilities (each in [0,1], summing to 1): the probability-weighted mix of class
/// colours. Otherwise: the colour of the channel highest within its own range, faded towards white by that level.
/// Background (no tissue, no tile) is transparent.
/// </summary>
internal static class HeatmapRenderer
{
    public static (byte[] Rgba, HeatmapLegend Legend) Render(float[] values, byte[] foreground, int width, int height, int channels, ClassPalette palette)
    {
        var cells = width * height;
        var min = new float[channels];
        var max = new float[channels];
        Array.Fill(min, float.MaxValue);
        Array.Fill(max, float.MinValue);
        var probabilities = channels > 1;
        var any = false;
        for (var i = 0; i < cells; i++)
        {
            if (foreground[i] == 0)
            {
                continue;
            }
            any = true;
            var v = values.AsSpan(i * channels, channels);
            float sum = 0;
            for (var c = 0; c < channels; c++)
            {
                min[c] = Math.Min(min[c], v[c]);
                max[c] = Math.Max(max[c], v[c]);
                sum += v[c];
                probabilities &= v[c] >= -1e-4f && v[c] <= 1 + 1e-4f;
            }
            probabilities &= Math.Abs(sum - 1) < 1e-3f;
        }
        if (!any)
        {
            probabilities = false;
            Array.Clear(min);
            Array.Clear(max);
        }
        var mode = channels == 1 ? "ramp" : probabilities ? "probability-mix" : "argmax";
        var rgba = new byte[cells * 4];
        for (var i = 0; i < cells; i++)
        {
            if (foreground[i] == 0)
            {
                continue;
            }
            var v = values.AsSpan(i * channels, channels);
            float r, g, b;
            if (mode == "probability-mix")
            {
                r = g = b = 0;
                for (var c = 0; c < channels; c++)
                {
                    var (cr, cg, cb) = palette.Colors[c];
                    r += v[c] * cr;
                    g += v[c] * cg;
                    b += v[c] * cb;
                }
            }
            else
            {
                var best = 0;
                var level = -1f;
                for (var c = 0; c < channels; c++)
                {
                    var span = max[c] - min[c];
                    var t = span > 0 ? (v[c] - min[c]) / span : 1f;
                    if (t > level)
                    {
                        level = t;
                        best = c;
                    }
                }
                var (cr, cg, cb) = palette.Colors[best];
                r = 255 + (level * (cr - 255));
                g = 255 + (level * (cg - 255));
                b = 255 + (level * (cb - 255));
            }
            rgba[i * 4] = ToByte(r);
            rgba[(i * 4) + 1] = ToByte(g);
            rgba[(i * 4) + 2] = ToByte(b);
            rgba[(i * 4) + 3] = 255;
        }
        var legend = new HeatmapLegend(mode, palette.Names, [.. palette.Colors.Select(ClassPalette.Hex)],
            channels == 0 ? 0 : min.Min(), channels == 0 ? 0 : max.Max());
        return (rgba, legend);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)(v + 0.5f), 0, 255);
}
