namespace Histoscale.Synthesis;

/// <summary>
/// A preanalytical artifact painted into a synthetic slide, with its true extent, so quality control can be measured
/// against known masks. Coordinates are level-0 pixels.
/// </summary>
public abstract record SynthArtifact
{
    private protected SynthArtifact()
    {
    }

    /// <summary>Whether level-0 point (<paramref name="x"/>, <paramref name="y"/>) lies in the artifact.</summary>
    public abstract bool Covers(double x, double y);

    /// <summary>The level-0 rectangle the artifact can change (x0, y0, x1, y1; end-exclusive).</summary>
    internal abstract (int X0, int Y0, int X1, int Y1) Bounds { get; }

    /// <summary>
    /// A mask of where <paramref name="artifacts"/> lie: <paramref name="width"/> × <paramref name="height"/> pixels
    /// covering a <paramref name="slideWidth"/> × <paramref name="slideHeight"/> slide, 255 where a pixel's centre is covered.
    /// </summary>
    public static byte[] Mask(IEnumerable<SynthArtifact> artifacts, long slideWidth, long slideHeight, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        var list = artifacts.ToList();
        var mask = new byte[width * height];
        var sx = (double)slideWidth / width;
        var sy = (double)slideHeight / height;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (px, py) = ((x + 0.5) * sx, (y + 0.5) * sy);
                if (list.Exists(a => a.Covers(px, py)))
                {
                    mask[(y * width) + x] = 255;
                }
            }
        }
        return mask;
    }
}

/// <summary>An out-of-focus rectangle: the tissue under it is blurred by a Gaussian of <paramref name="Sigma"/> level-0 pixels.</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width.</param>
/// <param name="Height">Height.</param>
/// <param name="Sigma">Standard deviation of the blur, in level-0 pixels.</param>
public sealed record SynthBlur(int X, int Y, int Width, int Height, double Sigma) : SynthArtifact
{
    /// <inheritdoc/>
    public override bool Covers(double x, double y) => x >= X && x < X + Width && y >= Y && y < Y + Height;

    internal override (int X0, int Y0, int X1, int Y1) Bounds => (X, Y, X + Width, Y + Height);
}

/// <summary>A fold: the tissue of the rectangle lies over the tissue <paramref name="ShiftX"/>, <paramref name="ShiftY"/> away (two layers: darker).</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width.</param>
/// <param name="Height">Height.</param>
/// <param name="ShiftX">Horizontal offset of the folded-over layer.</param>
/// <param name="ShiftY">Vertical offset of the folded-over layer.</param>
public sealed record SynthFold(int X, int Y, int Width, int Height, int ShiftX, int ShiftY) : SynthArtifact
{
    /// <inheritdoc/>
    public override bool Covers(double x, double y) => x >= X && x < X + Width && y >= Y && y < Y + Height;

    internal override (int X0, int Y0, int X1, int Y1) Bounds => (X, Y, X + Width, Y + Height);
}

/// <summary>A marker stroke: a polyline <paramref name="StrokeWidth"/> level-0 pixels wide of transmissive ink (R, G, B transmission, 0–255).</summary>
/// <param name="Points">The polyline's vertices (level-0 pixels), at least one.</param>
/// <param name="StrokeWidth">Stroke width in level-0 pixels.</param>
/// <param name="Ink">Ink transmission per channel (255 = clear).</param>
public sealed record SynthPen(IReadOnlyList<(double X, double Y)> Points, double StrokeWidth, (byte R, byte G, byte B) Ink) : SynthArtifact
{
    /// <inheritdoc/>
    public override bool Covers(double x, double y)
    {
        var r2 = StrokeWidth * StrokeWidth / 4;
        for (var i = 0; i < Points.Count; i++)
        {
            var a = Points[i];
            var b = Points[Math.Min(i + 1, Points.Count - 1)];
            if (DistanceSquared(x, y, a, b) <= r2)
            {
                return true;
            }
        }
        return false;
    }

    private static double DistanceSquared(double x, double y, (double X, double Y) a, (double X, double Y) b)
    {
        var (dx, dy) = (b.X - a.X, b.Y - a.Y);
        var len = (dx * dx) + (dy * dy);
        var t = len == 0 ? 0 : Math.Clamp((((x - a.X) * dx) + ((y - a.Y) * dy)) / len, 0, 1);
        var (px, py) = (a.X + (t * dx) - x, a.Y + (t * dy) - y);
        return (px * px) + (py * py);
    }

    internal override (int X0, int Y0, int X1, int Y1) Bounds
    {
        get
        {
            var half = (StrokeWidth / 2) + 1;
            return ((int)Math.Floor(Points.Min(p => p.X) - half), (int)Math.Floor(Points.Min(p => p.Y) - half),
                (int)Math.Ceiling(Points.Max(p => p.X) + half), (int)Math.Ceiling(Points.Max(p => p.Y) + half));
        }
    }
}
