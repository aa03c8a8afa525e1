using System.Numerics;
using System.Runtime.CompilerServices;

namespace Histoscale.Pipeline.Tissue;

/// <summary>
/// Dilation and erosion of a binary mask (0 or 1 per pixel) with a square structuring element, done separably (rows
/// then columns). The window is clipped at the border (outside copies nothing), so dilation is the OR and erosion the
/// AND of the pixels of the clipped window: computed a vector of pixels at a time, the column pass row by row (so it
/// reads memory in order), bands of rows spread over the cores. No per-pixel allocation.
/// </summary>
internal static class BinaryMorphology
{
    /// <summary>Closing (dilate, then erode) joins nearby tissue fragments and fills small holes.</summary>
    public static void Close(byte[] mask, int width, int height, int radius, int parallelism = 1)
    {
        Dilate(mask, width, height, radius, parallelism);
        Erode(mask, width, height, radius, parallelism);
    }

    /// <summary>Opening (erode, then dilate) removes specks smaller than the element (dust, noise).</summary>
    public static void Open(byte[] mask, int width, int height, int radius, int parallelism = 1)
    {
        Erode(mask, width, height, radius, parallelism);
        Dilate(mask, width, height, radius, parallelism);
    }

    public static void Dilate(byte[] mask, int width, int height, int radius, int parallelism = 1) => Apply(mask, width, height, radius, dilate: true, parallelism);

    public static void Erode(byte[] mask, int width, int height, int radius, int parallelism = 1) => Apply(mask, width, height, radius, dilate: false, parallelism);

    private static void Apply(byte[] mask, int width, int height, int radius, bool dilate, int parallelism)
    {
        if (radius <= 0 || width <= 0 || height <= 0)
        {
            return;
        }
        var bands = Bands(height, parallelism);
        var rowsPerBand = (height + bands - 1) / bands;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) };
        // Rows: each row only reads itself.
        Parallel.For(0, bands, options, () => new byte[width], (b, _, line) =>
        {
            for (var y = b * rowsPerBand; y < Math.Min(height, (b + 1) * rowsPerBand); y++)
            {
                var row = mask.AsSpan(y * width, width);
                row.CopyTo(line);
                Pass(line, row, radius, dilate);
            }
            return line;
        }, _ => { });
        // Columns: each output row reads the rows within ±radius of it, so the result goes to a copy.
        var source = mask.AsSpan(0, width * height).ToArray();
        Parallel.For(0, bands, options, b =>
        {
            for (var y = b * rowsPerBand; y < Math.Min(height, (b + 1) * rowsPerBand); y++)
            {
                var lo = Math.Max(0, y - radius);
                var hi = Math.Min(height - 1, y + radius);
                var dst = mask.AsSpan(y * width, width);
                source.AsSpan(lo * width, width).CopyTo(dst);
                for (var k = lo + 1; k <= hi; k++)
                {
                    Combine(dst, source.AsSpan(k * width, width), dilate);
                }
            }
        });
    }

    private static int Bands(int height, int parallelism) => Math.Clamp(Math.Min(parallelism * 4, height / 64), 1, Math.Max(1, height));

    /// <summary>dst = dst OR src (dilate) or dst AND src (erode), a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Combine(Span<byte> dst, ReadOnlySpan<byte> src, bool dilate)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var n = Vector<byte>.Count;
            for (; i <= dst.Length - n; i += n)
            {
                var a = new Vector<byte>(dst[i..]);
                var b = new Vector<byte>(src[i..]);
                (dilate ? a | b : a & b).CopyTo(dst[i..]);
            }
        }
        for (; i < dst.Length; i++)
        {
            dst[i] = dilate ? (byte)(dst[i] | src[i]) : (byte)(dst[i] & src[i]);
        }
    }

    /// <summary>1-D OR (dilate) or AND (erode) over the clipped window of ±radius.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass(ReadOnlySpan<byte> src, Span<byte> dst, int radius, bool dilate)
    {
        var n = src.Length;
        // The interior, where the window lies wholly inside: 2·radius+1 shifted vectors combined.
        var i = 0;
        if (Vector.IsHardwareAccelerated && n > (2 * radius) + Vector<byte>.Count)
        {
            var v = Vector<byte>.Count;
            for (i = radius; i <= n - radius - v; i += v)
            {
                var acc = new Vector<byte>(src[(i - radius)..]);
                for (var k = i - radius + 1; k <= i + radius; k++)
                {
                    var next = new Vector<byte>(src[k..]);
                    acc = dilate ? acc | next : acc & next;
                }
                acc.CopyTo(dst[i..]);
            }
            for (var j = 0; j < radius; j++)
            {
                dst[j] = Window(src, j, radius, dilate);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = Window(src, i, radius, dilate);
        }
    }

    private static byte Window(ReadOnlySpan<byte> src, int i, int radius, bool dilate)
    {
        var from = Math.Max(0, i - radius);
        var to = Math.Min(src.Length - 1, i + radius);
        var acc = src[from];
        for (var k = from + 1; k <= to; k++)
        {
            acc = dilate ? (byte)(acc | src[k]) : (byte)(acc & src[k]);
        }
        return acc;
    }
}
