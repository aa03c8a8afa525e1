using System.Buffers;

namespace Histoscale.Synthesis;

/// <summary>
/// Renders a region of synthetic tissue with artifacts: folds (the region times the tissue it is folded over, as two
/// stained layers transmit), then blur (a Gaussian over the folded tissue, computed on a margin around the region so
/// tiles join seamlessly), then ink on top. Deterministic per pixel, like <see cref="SyntheticTissue"/>.
/// </summary>
internal sealed class ArtifactRenderer(SyntheticTissue tissue, IReadOnlyList<SynthArtifact> artifacts)
{
    public void Render(int x0, int y0, int w, int h, Span<byte> rgb, int stride)
    {
        RenderFolded(x0, y0, w, h, rgb, stride);
        foreach (var blur in artifacts.OfType<SynthBlur>())
        {
            if (Intersect(blur.Bounds, x0, y0, w, h) is { } r)
            {
                Blur(blur, r, x0, y0, rgb, stride);
            }
        }
        foreach (var pen in artifacts.OfType<SynthPen>())
        {
            if (Intersect(pen.Bounds, x0, y0, w, h) is { } r)
            {
                for (var y = r.Y0; y < r.Y1; y++)
                {
                    for (var x = r.X0; x < r.X1; x++)
                    {
                        if (pen.Covers(x + 0.5, y + 0.5))
                        {
                            var o = ((y - y0) * stride) + ((x - x0) * 3);
                            rgb[o] = (byte)(rgb[o] * pen.Ink.R / 255);
                            rgb[o + 1] = (byte)(rgb[o + 1] * pen.Ink.G / 255);
                            rgb[o + 2] = (byte)(rgb[o + 2] * pen.Ink.B / 255);
                        }
                    }
                }
            }
        }
    }

    private void RenderFolded(int x0, int y0, int w, int h, Span<byte> rgb, int stride)
    {
        tissue.Render(x0, y0, w, h, rgb, stride);
        foreach (var fold in artifacts.OfType<SynthFold>())
        {
            if (Intersect(fold.Bounds, x0, y0, w, h) is not { } r)
            {
                continue;
            }
            var (fw, fh) = (r.X1 - r.X0, r.Y1 - r.Y0);
            var under = ArrayPool<byte>.Shared.Rent(fw * fh * 3);
            try
            {
                tissue.Render(r.X0 + fold.ShiftX, r.Y0 + fold.ShiftY, fw, fh, under, fw * 3);
                for (var y = 0; y < fh; y++)
                {
                    var dst = rgb.Slice(((r.Y0 - y0 + y) * stride) + ((r.X0 - x0) * 3), fw * 3);
                    var src = under.AsSpan(y * fw * 3, fw * 3);
                    for (var i = 0; i < dst.Length; i++)
                    {
                        // Two layers: transmissions multiply (242 = the glass both were lit through).
                        dst[i] = (byte)Math.Min(255, dst[i] * src[i] / 242);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(under);
            }
        }
    }

    private void Blur(SynthBlur blur, (int X0, int Y0, int X1, int Y1) r, int x0, int y0, Span<byte> rgb, int stride)
    {
        var radius = Math.Max(1, (int)Math.Ceiling(3 * blur.Sigma));
        var kernel = new float[(2 * radius) + 1];
        for (var i = -radius; i <= radius; i++)
        {
            kernel[i + radius] = (float)Math.Exp(-(i * i) / (2 * blur.Sigma * blur.Sigma));
        }
        var total = kernel.Sum();
        for (var i = 0; i < kernel.Length; i++)
        {
            kernel[i] /= total;
        }
        // Source: the region plus a margin, folds applied; the blur reads no further than the artifact's own area
        // (clamped at its edges), so the blurred area is exactly the rectangle.
        var (bx0, by0, bx1, by1) = blur.Bounds;
        var sx0 = Math.Max(bx0, r.X0 - radius);
        var sy0 = Math.Max(by0, r.Y0 - radius);
        var sx1 = Math.Min(bx1, r.X1 + radius);
        var sy1 = Math.Min(by1, r.Y1 + radius);
        var (sw, sh) = (sx1 - sx0, sy1 - sy0);
        var source = new byte[sw * sh * 3];
        RenderFolded(sx0, sy0, sw, sh, source, sw * 3);
        var horizontal = new float[sw * sh * 3];
        for (var y = 0; y < sh; y++)
        {
            for (var x = 0; x < sw; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    float sum = 0;
                    for (var k = -radius; k <= radius; k++)
                    {
                        var xx = Math.Clamp(x + k, 0, sw - 1);
                        sum += kernel[k + radius] * source[(((y * sw) + xx) * 3) + c];
                    }
                    horizontal[(((y * sw) + x) * 3) + c] = sum;
                }
            }
        }
        for (var y = r.Y0; y < r.Y1; y++)
        {
            for (var x = r.X0; x < r.X1; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    float sum = 0;
                    for (var k = -radius; k <= radius; k++)
                    {
                        var yy = Math.Clamp(y - sy0 + k, 0, sh - 1);
                        sum += kernel[k + radius] * horizontal[(((yy * sw) + (x - sx0)) * 3) + c];
                    }
                    rgb[((y - y0) * stride) + ((x - x0) * 3) + c] = (byte)Math.Clamp((int)MathF.Round(sum), 0, 255);
                }
            }
        }
    }

    private static (int X0, int Y0, int X1, int Y1)? Intersect((int X0, int Y0, int X1, int Y1) b, int x0, int y0, int w, int h)
    {
        var ix0 = Math.Max(b.X0, x0);
        var iy0 = Math.Max(b.Y0, y0);
        var ix1 = Math.Min(b.X1, x0 + w);
        var iy1 = Math.Min(b.Y1, y0 + h);
        return ix0 < ix1 && iy0 < iy1 ? (ix0, iy0, ix1, iy1) : null;
    }
}
