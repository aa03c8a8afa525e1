using Histoscale.Pipeline.Stitching;

namespace Histoscale.Pipeline.Outputs;

/// <summary>The polygons of one class, in level-0 pixel coordinates (rings closed: last point = first).</summary>
internal sealed record ClassRegion(int Channel, string Name, (byte R, byte G, byte B) Color, IReadOnlyList<ClassPolygon> Polygons);

internal sealed record ClassPolygon(IReadOnlyList<(double X, double Y)> Outer, IReadOnlyList<IReadOnlyList<(double X, double Y)>> Holes);

/// <summary>Thresholds each mapped class of a stitched map and traces its regions (background classes excluded).</summary>
internal static class ClassRegions
{
    public static List<ClassRegion> Build(float[] values, byte[] foreground, int width, int height, int channels, ClassPalette palette,
        double threshold, double cellLevel0, long slideWidth, long slideHeight)
    {
        var regions = new List<ClassRegion>();
        var mask = new byte[width * height];
        for (var c = 0; c < channels; c++)
        {
            if (palette.IsBackground(c))
            {
                continue;
            }
            for (var i = 0; i < mask.Length; i++)
            {
                mask[i] = foreground[i] != 0 && values[(i * channels) + c] >= threshold ? (byte)1 : (byte)0;
            }
            var polygons = ContourTracer.Trace(mask, width, height);
            (double, double) ToSlide((int X, int Y) p) =>
                (Math.Round(Math.Min(slideWidth, p.X * cellLevel0), 2), Math.Round(Math.Min(slideHeight, p.Y * cellLevel0), 2));
            List<(double X, double Y)> Ring(IReadOnlyList<(int X, int Y)> ring)
            {
                var points = ring.Select(ToSlide).ToList();
                points.Add(points[0]);
                return points;
            }
            regions.Add(new ClassRegion(c, palette.Names[c], palette.Colors[c],
                [.. polygons.Select(p => new ClassPolygon(Ring(p.Outer), [.. p.Holes.Select(Ring)]))]));
        }
        return regions;
    }
}
