namespace Histoscale.Pipeline.Tissue;

/// <summary>
/// Dilation and erosion of a binary mask (1 = set) with a square structuring element, done separably (rows then
/// columns) so the cost is O(pixels) per pass whatever the radius, with no per-pixel allocation.
/// </summary>
internal static class BinaryMorphology
{
    /// <summary>Closing (dilate, then erode) joins nearby tissue fragments and fills small holes.</summary>
    public static void Close(byte[] mask, int width, int height, int radius)
    {
        Dilate(mask, width, height, radius);
        Erode(mask, width, height, radius);
    }

    /// <summary>Opening (erode, then dilate) removes specks smaller than the element (dust, noise).</summary>
    public static void Open(byte[] mask, int width, int height, int radius)
    {
        Erode(mask, width, height, radius);
        Dilate(mask, width, height, radius);
    }

    public static void Dilate(byte[] mask, int width, int height, int radius) => Apply(mask, width, height, radius, dilate: true);

    public static void Erode(byte[] mask, int width, int height, int radius) => Apply(mask, width, height, radius, dilate: false);

    private static void Apply(byte[] mask, int width, int height, int radius, bool dilate)
    {
        if (radius <= 0)
        {
            return;
        }
        var line = new byte[Math.Max(width, height)];
        var result = new byte[line.Length];
        for (var y = 0; y < height; y++)
        {
            var row = mask.AsSpan(y * width, width);
            row.CopyTo(line);
            Pass(line.AsSpan(0, width), result.AsSpan(0, width), radius, dilate);
            result.AsSpan(0, width).CopyTo(row);
        }
        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++)
            {
                line[y] = mask[(y * width) + x];
            }
            Pass(line.AsSpan(0, height), result.AsSpan(0, height), radius, dilate);
            for (var y = 0; y < height; y++)
            {
                mask[(y * width) + x] = result[y];
            }
        }
    }

    /// <summary>1-D max (dilate) or min (erode) over a window of ±radius using a running count of set pixels.</summary>
    private static void Pass(ReadOnlySpan<byte> src, Span<byte> dst, int radius, bool dilate)
    {
        var n = src.Length;
        var count = 0;
        for (var i = 0; i < Math.Min(radius, n); i++)
        {
            count += src[i];
        }
        for (var i = 0; i < n; i++)
        {
            var enter = i + radius;
            if (enter < n)
            {
                count += src[enter];
            }
            var leave = i - radius - 1;
            if (leave >= 0)
            {
                count -= src[leave];
            }
            var window = Math.Min(n - 1, i + radius) - Math.Max(0, i - radius) + 1;
            // The window is clipped at the border (outside copies nothing), so tissue touching the slide edge is not eroded away.
            dst[i] = dilate ? (byte)(count > 0 ? 1 : 0) : (byte)(count == window ? 1 : 0);
        }
    }
}
