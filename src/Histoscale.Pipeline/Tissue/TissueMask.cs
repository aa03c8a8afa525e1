using System.Runtime.CompilerServices;

namespace Histoscale.Pipeline.Tissue;

/// <summary>
/// A low-resolution binary tissue mask of a slide with a summed-area table, so the tissue fraction of any level-0
/// rectangle costs O(1). Mask pixel (i, j) covers level-0 [i·ScaleX, (i+1)·ScaleX) × [j·ScaleY, (j+1)·ScaleY).
/// </summary>
public sealed class TissueMask
{
    private readonly int[] _integral;

    /// <summary>A mask over <paramref name="mask"/> (non-zero = tissue, row-major), builds its summed-area table.</summary>
    /// <param name="mask">At least <paramref name="width"/> × <paramref name="height"/> bytes; kept, not copied.</param>
    /// <param name="width">Mask width in pixels.</param>
    /// <param name="height">Mask height in pixels.</param>
    /// <param name="scaleX">Level-0 pixels per mask pixel horizontally.</param>
    /// <param name="scaleY">Level-0 pixels per mask pixel vertically.</param>
    /// <exception cref="ArgumentException"><paramref name="mask"/> is shorter than width × height.</exception>
    public TissueMask(byte[] mask, int width, int height, double scaleX, double scaleY)
    {
        if (mask.Length < width * height)
        {
            throw new ArgumentException("mask is smaller than width × height", nameof(mask));
        }
        Mask = mask;
        Width = width;
        Height = height;
        ScaleX = scaleX;
        ScaleY = scaleY;
        _integral = Integral(mask, width, height);
        TissuePixels = _integral[^1];
    }

    /// <summary>Tiles of the detection level read for this mask (0 when the slide's thumbnailer made the image: a level of very large tiles or strips).</summary>
    public long DetectionTiles { get; init; }

    /// <summary>
    /// Detection-level tiles whose data could not be decoded (corrupt or truncated). What they cover is unknown and
    /// counted as tissue (its tiles are planned and read at the inference level, where their own data decides), never
    /// silently dropped as glass. A run fails the slide when there are more than <c>--max-bad-tiles</c> allows of
    /// <see cref="DetectionTiles"/>.
    /// </summary>
    public int UnreadableTiles { get; init; }

    /// <summary>Mask pixels a corrupt detection tile covered (1 = unknown, counted as tissue in <see cref="Mask"/>); null when none.</summary>
    internal byte[]? Unknown { get; init; }

    /// <summary>The first few unreadable detection tiles' errors (file, level, tile, cause); empty when none.</summary>
    public IReadOnlyList<string> UnreadableCauses { get; init; } = [];

    /// <summary>The summed-area table: entry (x, y) of (width + 1) per row counts the tissue pixels above and left of it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] Integral(byte[] mask, int width, int height)
    {
        var integral = new int[(width + 1) * (height + 1)];
        var w1 = width + 1;
        for (var y = 0; y < height; y++)
        {
            var rowSum = 0;
            var src = mask.AsSpan(y * width, width);
            var above = integral.AsSpan(y * w1, w1);
            var here = integral.AsSpan((y + 1) * w1, w1);
            for (var x = 0; x < src.Length; x++)
            {
                rowSum += src[x] != 0 ? 1 : 0;
                here[x + 1] = above[x + 1] + rowSum;
            }
        }
        return integral;
    }

    /// <summary>A mask that calls everything tissue (used with <c>--no-tissue</c>).</summary>
    public static TissueMask All(long slideWidth, long slideHeight) => new([1], 1, 1, slideWidth, slideHeight);

    /// <summary>1 = tissue, row-major.</summary>
    public byte[] Mask { get; }

    /// <summary>Mask width in pixels.</summary>
    public int Width { get; }

    /// <summary>Mask height in pixels.</summary>
    public int Height { get; }

    /// <summary>Level-0 pixels per mask pixel horizontally.</summary>
    public double ScaleX { get; }

    /// <summary>Level-0 pixels per mask pixel vertically.</summary>
    public double ScaleY { get; }

    /// <summary>Number of mask pixels that are tissue.</summary>
    public int TissuePixels { get; }

    /// <summary>Fraction of the mask that is tissue (0–1).</summary>
    public double TissueFraction => Width * Height == 0 ? 0 : (double)TissuePixels / (Width * Height);

    /// <summary>
    /// Fraction of the level-0 rectangle that is tissue, counting mask pixels whose centre lies inside it (the part
    /// outside the slide counts as background). A rectangle smaller than a mask pixel takes the pixel under its centre.
    /// </summary>
    public double Fraction(double x0, double y0, double width, double height)
    {
        var (i0, i1) = Span(x0, width, ScaleX);
        var (j0, j1) = Span(y0, height, ScaleY);
        var total = (long)(i1 - i0) * (j1 - j0);
        var ci0 = Math.Clamp(i0, 0, Width);
        var ci1 = Math.Clamp(i1, 0, Width);
        var cj0 = Math.Clamp(j0, 0, Height);
        var cj1 = Math.Clamp(j1, 0, Height);
        if (ci0 >= ci1 || cj0 >= cj1)
        {
            return 0;
        }
        var w1 = Width + 1;
        long count = _integral[(cj1 * w1) + ci1] - _integral[(cj0 * w1) + ci1] - _integral[(cj1 * w1) + ci0] + _integral[(cj0 * w1) + ci0];
        return (double)count / total;
    }

    private static (int Start, int End) Span(double start, double length, double scale)
    {
        var a = (int)Math.Ceiling((start / scale) - 0.5);
        var b = (int)Math.Ceiling(((start + length) / scale) - 0.5);
        if (b <= a)
        {
            a = (int)Math.Floor((start + (length / 2)) / scale);
            b = a + 1;
        }
        return (a, b);
    }
}
