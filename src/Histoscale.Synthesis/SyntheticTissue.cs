using System.Buffers;

namespace Histoscale.Synthesis;

/// <summary>
/// A procedural H&amp;E-stained slide: near-white glass with faint noise, tissue as smooth random blobs, pink
/// fibrous eosin stroma with pale areas and small lumens, and haematoxylin nuclei (elongated stromal nuclei,
/// dark round lymphocytes, denser purple clusters). Any region renders independently and deterministically
/// from the seed, so a slide is generated tile by tile, in parallel, and tests can recompute exact pixels.
/// </summary>
internal sealed class SyntheticTissue
{
    private const int Grid = 16;        // slowly varying fields are evaluated every 16 px and interpolated
    private const int Margin = 32;      // nuclei centred this far outside a region can still reach into it
    private const int Cell = 13;        // one candidate nucleus per 13x13 px cell
    private const int Fields = 5;
    private const float EdgeSharpness = 400f;

    private readonly uint _seed;
    private readonly float _tissueScale;
    private readonly float _threshold;
    private readonly FiberTexture _fibers;
    private readonly StainLut _lut;

    public SyntheticTissue(int width, int height, int seed, IReadOnlyList<float>? haematoxylinOd = null, IReadOnlyList<float>? eosinOd = null)
    {
        _lut = new StainLut(haematoxylinOd, eosinOd);
        Width = width;
        Height = height;
        _seed = (uint)seed;
        _tissueScale = Math.Max(width, height) * 0.3f;
        _threshold = 0.5f;
        _fibers = new FiberTexture(_seed);
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>Renders RGB pixels of the region at level-0 (x, y), w x h, into rows <paramref name="stride"/> bytes apart.</summary>
    public void Render(int x0, int y0, int w, int h, Span<byte> rgb, int stride)
    {
        var gx0 = FloorDiv(x0 - Margin, Grid);
        var gy0 = FloorDiv(y0 - Margin, Grid);
        var gw = FloorDiv(x0 + w + Margin, Grid) - gx0 + 2;
        var gh = FloorDiv(y0 + h + Margin, Grid) - gy0 + 2;
        var grid = ArrayPool<float>.Shared.Rent(Fields * gw * gh);
        var nuclei = ArrayPool<byte>.Shared.Rent(w * h);
        var row = ArrayPool<float>.Shared.Rent(Fields * gw);
        try
        {
            var fields = new FieldGrid(grid, gx0, gy0, gw, gh);
            for (var gy = 0; gy < gh; gy++)
            {
                for (var gx = 0; gx < gw; gx++)
                {
                    EvaluateFields((gx0 + gx) * Grid, (gy0 + gy) * Grid, grid.AsSpan(((gy * gw) + gx) * Fields, Fields));
                }
            }
            nuclei.AsSpan(0, w * h).Clear();
            PaintNuclei(x0, y0, w, h, fields, nuclei);
            for (var y = 0; y < h; y++)
            {
                ComposeRow(x0, y0 + y, w, fields, row, nuclei.AsSpan(y * w, w), rgb.Slice(y * stride, w * 3));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(grid);
            ArrayPool<float>.Shared.Return(row);
            ArrayPool<byte>.Shared.Return(nuclei);
        }
    }

    // Field indices: 0 tissue (raw, thresholded per pixel), 1 eosin density, 2 paleness, 3 fibre direction blend,
    // 4 nuclear density.
    private void EvaluateFields(int x, int y, Span<float> f)
    {
        var s = _seed * 7919u;
        var nx = (x - (Width * 0.5f)) / (Width * 0.5f);
        var ny = (y - (Height * 0.5f)) / (Height * 0.5f);
        var radial = (nx * nx) + (ny * ny);
        var tissue = SynthNoise.Fbm(x / _tissueScale, y / _tissueScale, s + 1, 4)
            + (0.10f * SynthNoise.Fbm(x / 240f, y / 240f, s + 2, 3))
            - (0.45f * radial) + 0.16f;
        var lumen = Math.Clamp((SynthNoise.Fbm(x / 120f, y / 120f, s + 3, 2) - 0.74f) * 10f, 0f, 1f);
        f[0] = tissue - (lumen * 0.5f); // lumens are holes in the tissue, with the same crisp edge
        f[1] = 0.4f + (0.6f * SynthNoise.Fbm(x / 300f, y / 300f, s + 4, 3));
        f[2] = SmoothStep(0.55f, 0.72f, SynthNoise.Fbm(x / 900f, y / 900f, s + 5, 3));
        f[3] = SmoothStep(0.35f, 0.65f, SynthNoise.Fbm(x / 500f, y / 500f, s + 6, 2));
        f[4] = (0.16f + (0.75f * SmoothStep(0.52f, 0.7f, SynthNoise.Fbm(x / 700f, y / 700f, s + 7, 3)))) * (1 - (0.8f * f[2]));
    }

    private void ComposeRow(int x0, int y, int w, FieldGrid fields, float[] row, ReadOnlySpan<byte> nuclei, Span<byte> rgb)
    {
        // Interpolate the field grid down to this row once; along the row each field is a straight line
        // between grid columns, stepped incrementally.
        fields.InterpolateRow(y, row);
        var hr = _lut.H[0];
        var hg = _lut.H[1];
        var hb = _lut.H[2];
        var er = _lut.E[0];
        var eg = _lut.E[1];
        var eb = _lut.E[2];
        var x = x0;
        var i = 0;
        while (i < w)
        {
            var gx = FloorDiv(x, Grid);
            var segmentEnd = Math.Min(w, i + ((gx + 1) * Grid) - x);
            var a = (gx - fields.X0) * Fields;
            var fx = (x - (gx * Grid)) / (float)Grid;
            // Five fields as locals stepped per pixel: this loop runs for every pixel of the slide.
            float d0 = (row[a + Fields] - row[a]) / Grid, v0 = row[a] + (d0 * Grid * fx);
            float d1 = (row[a + Fields + 1] - row[a + 1]) / Grid, v1 = row[a + 1] + (d1 * Grid * fx);
            float d2 = (row[a + Fields + 2] - row[a + 2]) / Grid, v2 = row[a + 2] + (d2 * Grid * fx);
            float d3 = (row[a + Fields + 3] - row[a + 3]) / Grid, v3 = row[a + 3] + (d3 * Grid * fx);
            float d4 = (row[a + Fields + 4] - row[a + 4]) / Grid, v4 = row[a + 4] + (d4 * Grid * fx);
            for (; i < segmentEnd; i++, x++)
            {
                var hash = SynthNoise.Hash(x, y, _seed);
                var noise = SynthNoise.Unit(hash) - 0.5f;
                var tissue = Math.Clamp((v0 - _threshold) * EdgeSharpness, 0f, 1f);
                int fa = _fibers.At(x + 311, y + 97);
                int fb = _fibers.Across(x + 229, y + 613);
                var fiber = (fa + ((fb - fa) * v3)) * (1f / 255f);
                var nucleus = nuclei[i];
                var displaced = 1f - (Math.Min(nucleus, (byte)160) * (0.6f / 160f)); // nuclei push stroma aside
                var eosin = tissue * v1 * (1f - (0.7f * v2)) * (0.3f + (1.15f * fiber)) * (1f + (0.3f * noise)) * displaced;
                var haem = tissue * (0.04f + (0.05f * fiber) + (0.22f * v4 * (1f - v2)));
                var eq = Math.Min(255, (int)(eosin * StainLut.Scale));
                var hq = Math.Min(255, (int)(haem * StainLut.Scale) + nucleus);
                var glass = 242f + (3f * (SynthNoise.Unit(hash * 0x9E3779B1u) - 0.5f));
                var o = i * 3;
                rgb[o] = ToByte(glass * hr[hq] * er[eq]);
                rgb[o + 1] = ToByte(glass * hg[hq] * eg[eq]);
                rgb[o + 2] = ToByte(glass * hb[hq] * eb[eq]);
                v0 += d0;
                v1 += d1;
                v2 += d2;
                v3 += d3;
                v4 += d4;
            }
        }
    }

    /// <summary>Rasterises every nucleus touching the region as a quantised haematoxylin concentration.</summary>
    private void PaintNuclei(int x0, int y0, int w, int h, FieldGrid fields, byte[] target)
    {
        const int Reach = 12; // largest nucleus semi-axis plus anti-aliasing
        var cx0 = FloorDiv(x0 - Reach, Cell);
        var cy0 = FloorDiv(y0 - Reach, Cell);
        var cx1 = FloorDiv(x0 + w + Reach, Cell);
        var cy1 = FloorDiv(y0 + h + Reach, Cell);
        var seed = _seed ^ 0xA5A5F00Du;
        Span<float> at = stackalloc float[Fields];
        for (var cy = cy0; cy <= cy1; cy++)
        {
            for (var cx = cx0; cx <= cx1; cx++)
            {
                var r = SynthNoise.Hash(cx, cy, seed);
                var px = (cx * Cell) + (SynthNoise.Unit(r) * Cell);
                r = SynthNoise.Next(r);
                var py = (cy * Cell) + (SynthNoise.Unit(r) * Cell);
                fields.Sample(px, py, at);
                var tissue = Math.Clamp((at[0] - _threshold - 0.01f) * EdgeSharpness, 0f, 1f);
                r = SynthNoise.Next(r);
                if (SynthNoise.Unit(r) >= at[4] * tissue)
                {
                    continue;
                }
                r = SynthNoise.Next(r);
                float a, b, darkness;
                var kind = SynthNoise.Unit(r);
                r = SynthNoise.Next(r);
                var u1 = SynthNoise.Unit(r);
                r = SynthNoise.Next(r);
                var u2 = SynthNoise.Unit(r);
                r = SynthNoise.Next(r);
                var angle = SynthNoise.Unit(r) * MathF.PI;
                if (kind < 0.22f)
                {
                    a = 3f + (1.3f * u1);          // lymphocyte: small, round, very dark
                    b = a * (0.85f + (0.15f * u2));
                    darkness = 200 + (40 * u2);
                }
                else if (at[4] > 0.5f)
                {
                    a = 6f + (3.5f * u1);          // epithelial/tumour cluster: large, oval, vesicular
                    b = a * (0.6f + (0.3f * u2));
                    darkness = 115 + (50 * u2);
                }
                else
                {
                    a = 5f + (4f * u1);            // stromal: elongated, spindle-like
                    b = a * (0.3f + (0.3f * u2));
                    darkness = 140 + (50 * u2);
                }
                DrawEllipse(px, py, a, b, angle, darkness, x0, y0, w, h, target, seed);
            }
        }
    }

    private static void DrawEllipse(float cx, float cy, float a, float b, float angle, float darkness, int x0, int y0, int w, int h, byte[] target, uint seed)
    {
        var reach = (int)MathF.Ceiling(a) + 1;
        var xs = Math.Max(x0, (int)cx - reach);
        var xe = Math.Min(x0 + w - 1, (int)cx + reach);
        var ys = Math.Max(y0, (int)cy - reach);
        var ye = Math.Min(y0 + h - 1, (int)cy + reach);
        if (xs > xe || ys > ye)
        {
            return;
        }
        var cos = MathF.Cos(angle);
        var sin = MathF.Sin(angle);
        var ia2 = 1f / (a * a);
        var ib2 = 1f / (b * b);
        for (var y = ys; y <= ye; y++)
        {
            var dy = y + 0.5f - cy;
            for (var x = xs; x <= xe; x++)
            {
                var dx = x + 0.5f - cx;
                var u = (dx * cos) + (dy * sin);
                var v = (dy * cos) - (dx * sin);
                var d = (u * u * ia2) + (v * v * ib2);
                if (d >= 1f)
                {
                    continue;
                }
                // Chromatin: coarse 2x2 mottling, a darker rim, anti-aliased boundary.
                var chromatin = 0.8f + (0.35f * SynthNoise.Unit(SynthNoise.Hash(x >> 1, y >> 1, seed)));
                var rim = d > 0.55f ? 1.12f : 1f;
                var edge = d > 0.8f ? (1f - d) * 5f : 1f;
                var value = (byte)Math.Min(255f, darkness * chromatin * rim * edge);
                ref var t = ref target[((y - y0) * w) + (x - x0)];
                if (value > t)
                {
                    t = value;
                }
            }
        }
    }

    private static byte ToByte(float v) => (byte)Math.Min((int)(v + 0.5f), 255); // v is never negative

    private static float SmoothStep(float e0, float e1, float x)
    {
        var t = Math.Clamp((x - e0) / (e1 - e0), 0f, 1f);
        return t * t * (3 - (2 * t));
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -(((-a) + b - 1) / b);

    /// <summary>Field values on the 16 px lattice around one region, with bilinear lookups.</summary>
    private readonly struct FieldGrid(float[] values, int x0, int y0, int width, int height)
    {
        public int X0 { get; } = x0;

        public void InterpolateRow(int y, float[] row)
        {
            var gy = FloorDiv(y, Grid);
            var fy = (y - (gy * Grid)) / (float)Grid;
            var r0 = (gy - y0) * width * Fields;
            var r1 = r0 + (width * Fields);
            for (var i = 0; i < width * Fields; i++)
            {
                row[i] = values[r0 + i] + ((values[r1 + i] - values[r0 + i]) * fy);
            }
        }

        public void Sample(float x, float y, Span<float> result)
        {
            var gx = (int)MathF.Floor(x / Grid);
            var gy = (int)MathF.Floor(y / Grid);
            var fx = (x / Grid) - gx;
            var fy = (y / Grid) - gy;
            var lx = Math.Clamp(gx - X0, 0, width - 2);
            var ly = Math.Clamp(gy - y0, 0, height - 2);
            for (var k = 0; k < Fields; k++)
            {
                var a = values[(((ly * width) + lx) * Fields) + k];
                var b = values[(((ly * width) + lx + 1) * Fields) + k];
                var c = values[((((ly + 1) * width) + lx) * Fields) + k];
                var d = values[((((ly + 1) * width) + lx + 1) * Fields) + k];
                var top = a + ((b - a) * fx);
                var bottom = c + ((d - c) * fx);
                result[k] = top + ((bottom - top) * fy);
            }
        }
    }
}
