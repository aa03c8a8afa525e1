using Histoscale.Inference.Models;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Tissue;

namespace Histoscale.Pipeline.Stitching;

/// <summary>
/// Stitches per-tile outputs into a map over the whole slide: a grid of cells, each the weighted mean of every
/// tile (or dense output pixel) overlapping it. Weights are coverage area × a tent that falls towards the tile
/// border, so overlapping tiles blend without seams and a cell covered by one tile takes exactly its value.
/// The cell is the largest size that every tile and dense pixel boundary falls on (gcd of tile size, stride and
/// dense stride), doubled until the accumulators fit <see cref="MaxBytes"/>: memory is bounded for any slide.
/// Only the first <see cref="MaxChannels"/> channels are mapped.
/// </summary>
internal sealed class ScoreMap
{
    public const int MaxChannels = 64;
    public const long MaxBytes = 512L * 1024 * 1024;

    private readonly TilePlan _plan;
    private readonly ModelIo _io;
    private readonly float[] _sum;
    private readonly float[] _weight;
    private readonly float[] _tent;

    public ScoreMap(TilePlan plan, ModelIo io)
    {
        _plan = plan;
        _io = io;
        Channels = Math.Min(io.Channels, MaxChannels);
        var dense = io.Kind == OutputKind.Dense;
        var unit = dense ? Gcd(Gcd(plan.TileSize, plan.Stride), Gcd(plan.TileSize / io.DenseWidth, plan.TileSize / io.DenseHeight)) : Gcd(plan.TileSize, plan.Stride);
        var cell = Math.Max(1, unit);
        while (true)
        {
            var w = (long)Math.Ceiling(plan.SlideWidth / (cell * plan.Downsample));
            var h = (long)Math.Ceiling(plan.SlideHeight / (cell * plan.Downsample));
            if (w * h * (Channels + 1) * 4 <= MaxBytes || cell >= plan.TileSize * 64)
            {
                Width = (int)Math.Max(1, w);
                Height = (int)Math.Max(1, h);
                break;
            }
            cell *= 2;
        }
        CellPixels = cell;
        _sum = new float[(long)Width * Height * Channels];
        _weight = new float[(long)Width * Height];
        _tent = new float[plan.TileSize];
        for (var u = 0; u < plan.TileSize; u++)
        {
            // 1 in the middle, falling linearly to 1/T at the border: never 0, so edge-only cells still get a value.
            _tent[u] = Math.Max(1f / plan.TileSize, Math.Min(u + 0.5f, plan.TileSize - u - 0.5f) / (plan.TileSize / 2f));
        }
    }

    /// <summary>Mapped channels (≤ <see cref="MaxChannels"/>).</summary>
    public int Channels { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Edge of a cell in tile (model input) pixels.</summary>
    public int CellPixels { get; }

    /// <summary>Edge of a cell in level-0 pixels.</summary>
    public double CellLevel0 => CellPixels * _plan.Downsample;

    /// <summary>Adds one tile's outputs (ValuesPerTile floats, as the model returned them).</summary>
    public void Add(PlannedTile tile, ReadOnlySpan<float> values)
    {
        double ox = (double)tile.Column * _plan.Stride;
        double oy = (double)tile.Row * _plan.Stride;
        if (_io.Kind == OutputKind.Dense)
        {
            var dh = _io.DenseHeight;
            var dw = _io.DenseWidth;
            var ph = (double)_plan.TileSize / dh;
            var pw = (double)_plan.TileSize / dw;
            var plane = dh * dw;
            Span<float> pixel = stackalloc float[Channels];
            for (var j = 0; j < dh; j++)
            {
                for (var i = 0; i < dw; i++)
                {
                    for (var c = 0; c < Channels; c++)
                    {
                        pixel[c] = values[(c * plane) + (j * dw) + i];
                    }
                    var tent = _tent[Math.Min(_plan.TileSize - 1, (int)((i + 0.5) * pw))] * _tent[Math.Min(_plan.TileSize - 1, (int)((j + 0.5) * ph))];
                    Splat(ox + (i * pw), oy + (j * ph), pw, ph, tent, pixel);
                }
            }
            return;
        }
        // Per-tile scores: the tent is applied per cell (by its centre), so the blend varies across an overlap.
        var cell = CellPixels;
        var t = _plan.TileSize;
        var cx0 = (int)Math.Floor(ox / cell);
        var cy0 = (int)Math.Floor(oy / cell);
        var cx1 = (int)Math.Ceiling((ox + t) / cell);
        var cy1 = (int)Math.Ceiling((oy + t) / cell);
        for (var cy = Math.Max(0, cy0); cy < Math.Min(Height, cy1); cy++)
        {
            var y0 = Math.Max(oy, cy * cell);
            var y1 = Math.Min(oy + t, (cy + 1) * cell);
            var ty = _tent[Math.Clamp((int)(((y0 + y1) / 2) - oy), 0, t - 1)];
            for (var cx = Math.Max(0, cx0); cx < Math.Min(Width, cx1); cx++)
            {
                var x0 = Math.Max(ox, cx * cell);
                var x1 = Math.Min(ox + t, (cx + 1) * cell);
                var tx = _tent[Math.Clamp((int)(((x0 + x1) / 2) - ox), 0, t - 1)];
                Accumulate(cx, cy, (float)((x1 - x0) * (y1 - y0) / (cell * cell)) * tx * ty, values);
            }
        }
    }

    /// <summary>Turns the sums into weighted means; returns values (cell-major, <see cref="Channels"/> per cell) and the foreground.</summary>
    public (float[] Values, byte[] Foreground) Finish(TissueMask? tissue)
    {
        var cells = Width * Height;
        var foreground = new byte[cells];
        for (var i = 0; i < cells; i++)
        {
            var w = _weight[i];
            if (w <= 0)
            {
                continue;
            }
            var cx = i % Width;
            var cy = i / Width;
            // Mask glass: a cell needs tissue under it, not just a tissue tile over it.
            if (tissue is not null && tissue.Fraction(cx * CellLevel0, cy * CellLevel0, CellLevel0, CellLevel0) <= 0)
            {
                continue;
            }
            foreground[i] = 1;
            var v = _sum.AsSpan(i * Channels, Channels);
            for (var c = 0; c < v.Length; c++)
            {
                v[c] /= w;
            }
        }
        return (_sum, foreground);
    }

    private void Splat(double x, double y, double w, double h, float tent, ReadOnlySpan<float> values)
    {
        var cell = CellPixels;
        for (var cy = Math.Max(0, (int)Math.Floor(y / cell)); cy < Math.Min(Height, (int)Math.Ceiling((y + h) / cell)); cy++)
        {
            var oy = Math.Min(y + h, (cy + 1) * cell) - Math.Max(y, cy * cell);
            for (var cx = Math.Max(0, (int)Math.Floor(x / cell)); cx < Math.Min(Width, (int)Math.Ceiling((x + w) / cell)); cx++)
            {
                var ox = Math.Min(x + w, (cx + 1) * cell) - Math.Max(x, cx * cell);
                if (ox > 0 && oy > 0)
                {
                    Accumulate(cx, cy, (float)(ox * oy / (cell * cell)) * tent, values);
                }
            }
        }
    }

    private void Accumulate(int cx, int cy, float weight, ReadOnlySpan<float> values)
    {
        if (weight <= 0)
        {
            return;
        }
        var i = (cy * Width) + cx;
        _weight[i] += weight;
        var sum = _sum.AsSpan(i * Channels, Channels);
        for (var c = 0; c < sum.Length; c++)
        {
            sum[c] += weight * values[c];
        }
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return Math.Abs(a);
    }
}
