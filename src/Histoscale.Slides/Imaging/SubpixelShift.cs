namespace Histoscale.Slides.Imaging;

/// <summary>
/// Bilinear shift by a sub-pixel offset, computed the way pixman (under OpenSlide's cairo painting) does it:
/// weights quantised to 7 bits then scaled to 8, premultiplied alpha, results truncated. Matching this keeps our
/// regions identical to OpenSlide's where a level is painted at a fractional position.
/// </summary>
internal static class SubpixelShift
{
    /// <summary>The 8-bit weight pixman derives from a fractional coordinate in [0,1).</summary>
    public static int Weight(double fraction)
    {
        var fixed16 = (long)(fraction * 65536);
        return (int)(((fixed16 >> 9) & 0x7F) << 1);
    }

    /// <summary>
    /// out(i,j) = bilinear(src, i + dx/256, j + dy/256). <paramref name="source"/> is RGBA straight alpha with
    /// (width+1)×(height+1) pixels and row length <paramref name="sourceWidth"/>.
    /// </summary>
    public static void Apply(ReadOnlySpan<byte> source, int sourceWidth, int dx, int dy, Span<byte> rgba, int width, int height)
    {
        var wTl = (256 - dx) * (256 - dy);
        var wTr = dx * (256 - dy);
        var wBl = (256 - dx) * dy;
        var wBr = dx * dy;
        Span<int> tl = stackalloc int[4];
        Span<int> tr = stackalloc int[4];
        Span<int> bl = stackalloc int[4];
        Span<int> br = stackalloc int[4];
        for (var y = 0; y < height; y++)
        {
            var top = source.Slice(y * sourceWidth * 4, sourceWidth * 4);
            var bottom = source.Slice((y + 1) * sourceWidth * 4, sourceWidth * 4);
            var dst = rgba.Slice(y * width * 4, width * 4);
            for (var x = 0; x < width; x++)
            {
                var o = x * 4;
                Premultiply(top.Slice(o, 4), tl);
                Premultiply(top.Slice(o + 4, 4), tr);
                Premultiply(bottom.Slice(o, 4), bl);
                Premultiply(bottom.Slice(o + 4, 4), br);
                var a = ((tl[3] * wTl) + (tr[3] * wTr) + (bl[3] * wBl) + (br[3] * wBr) + 32768) >> 16;
                dst[o + 3] = (byte)a;
                for (var c = 0; c < 3; c++)
                {
                    var v = ((tl[c] * wTl) + (tr[c] * wTr) + (bl[c] * wBl) + (br[c] * wBr) + 32768) >> 16;
                    // back to straight alpha, as OpenSlide's Python binding un-premultiplies
                    dst[o + c] = a == 0 ? (byte)0 : a == 255 ? (byte)v : (byte)Math.Min(255, ((v * 255) + (a / 2)) / a);
                }
            }
        }
    }

    private static void Premultiply(ReadOnlySpan<byte> px, Span<int> result)
    {
        var a = px[3];
        result[3] = a;
        if (a == 255)
        {
            result[0] = px[0];
            result[1] = px[1];
            result[2] = px[2];
            return;
        }
        for (var c = 0; c < 3; c++)
        {
            var t = (px[c] * a) + 128;
            result[c] = (t + (t >> 8)) >> 8;
        }
    }
}
