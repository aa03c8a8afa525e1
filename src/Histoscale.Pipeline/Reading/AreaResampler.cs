namespace Histoscale.Pipeline.Reading;

/// <summary>
/// Resizes an RGBA region to a square tile separably: area averaging when shrinking (each output pixel is the
/// coverage-weighted mean of the input pixels under it), bilinear when enlarging. The output is opaque: the input
/// must already be composited over white. One instance per worker: it keeps its scratch buffers between tiles.
/// </summary>
internal sealed class AreaResampler
{
    private float[] _rows = [];
    private int[] _xStart = [];
    private float[] _xWeights = [];
    private int[] _yStart = [];
    private float[] _yWeights = [];

    /// <summary>
    /// Output pixel i covers source [offset + i·scale, offset + (i+1)·scale) on each axis (source pixels, relative to
    /// the region's origin).
    /// </summary>
    public void Resample(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, double offsetX, double offsetY, double scale, Span<byte> target, int size)
    {
        var xTaps = Build(size, offsetX, scale, sourceWidth, ref _xStart, ref _xWeights);
        var yTaps = Build(size, offsetY, scale, sourceHeight, ref _yStart, ref _yWeights);
        var rowFloats = sourceHeight * size * 3;
        if (_rows.Length < rowFloats)
        {
            _rows = new float[rowFloats];
        }
        var rows = _rows.AsSpan(0, rowFloats);
        // Horizontal pass: every source row to `size` RGB floats.
        for (var y = 0; y < sourceHeight; y++)
        {
            var src = source.Slice(y * sourceWidth * 4, sourceWidth * 4);
            var dst = rows.Slice(y * size * 3, size * 3);
            for (var i = 0; i < size; i++)
            {
                float r = 0, g = 0, b = 0;
                var start = _xStart[i];
                for (var k = 0; k < xTaps; k++)
                {
                    var w = _xWeights[(i * xTaps) + k];
                    var p = (start + k) * 4;
                    r += w * src[p];
                    g += w * src[p + 1];
                    b += w * src[p + 2];
                }
                dst[i * 3] = r;
                dst[(i * 3) + 1] = g;
                dst[(i * 3) + 2] = b;
            }
        }
        // Vertical pass into the tile.
        for (var j = 0; j < size; j++)
        {
            var start = _yStart[j];
            var dst = target.Slice(j * size * 4, size * 4);
            for (var i = 0; i < size * 3; i += 3)
            {
                float r = 0, g = 0, b = 0;
                for (var k = 0; k < yTaps; k++)
                {
                    var w = _yWeights[(j * yTaps) + k];
                    var p = ((start + k) * size * 3) + i;
                    r += w * rows[p];
                    g += w * rows[p + 1];
                    b += w * rows[p + 2];
                }
                var o = i / 3 * 4;
                dst[o] = ToByte(r);
                dst[o + 1] = ToByte(g);
                dst[o + 2] = ToByte(b);
                dst[o + 3] = 255;
            }
        }
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)(v + 0.5f), 0, 255);

    /// <summary>Per output pixel, the first source pixel and fixed-count weights (zero-padded); returns the tap count.</summary>
    private static int Build(int size, double offset, double scale, int sourceLength, ref int[] starts, ref float[] weights)
    {
        var taps = scale >= 1 ? (int)Math.Ceiling(scale) + 1 : 2;
        if (starts.Length < size)
        {
            starts = new int[size];
        }
        if (weights.Length < size * taps)
        {
            weights = new float[size * taps];
        }
        var last = sourceLength - 1;
        for (var i = 0; i < size; i++)
        {
            var w = weights.AsSpan(i * taps, taps);
            w.Clear();
            if (scale >= 1)
            {
                var a = offset + (i * scale);
                var b = a + scale;
                var first = (int)Math.Floor(a);
                var start = Math.Clamp(first, 0, Math.Max(0, last - taps + 1));
                starts[i] = start;
                for (var j = first; j < b; j++)
                {
                    var cover = Math.Min(b, j + 1) - Math.Max(a, j);
                    if (cover <= 0)
                    {
                        continue;
                    }
                    var k = Math.Clamp(j, 0, last) - start;
                    w[Math.Clamp(k, 0, taps - 1)] += (float)(cover / scale);
                }
            }
            else
            {
                var u = offset + ((i + 0.5) * scale) - 0.5;
                var j0 = (int)Math.Floor(u);
                var t = (float)(u - j0);
                var start = Math.Clamp(j0, 0, Math.Max(0, last - 1));
                starts[i] = start;
                w[Math.Clamp(Math.Clamp(j0, 0, last) - start, 0, 1)] += 1 - t;
                w[Math.Clamp(Math.Clamp(j0 + 1, 0, last) - start, 0, 1)] += t;
            }
        }
        return taps;
    }
}
