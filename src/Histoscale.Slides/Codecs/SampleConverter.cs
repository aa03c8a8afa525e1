namespace Histoscale.Slides.Codecs;

/// <summary>Expands interleaved 8-bit samples (gray, gray+alpha, RGB, RGBA) to RGBA rows.</summary>
internal static class SampleConverter
{
    public static void ToRgba(ReadOnlySpan<byte> samples, int width, int height, CodecContext context, Span<byte> rgba, int stride)
    {
        var spp = context.SamplesPerPixel;
        var invert = context.Photometric == Tiff.TiffPhotometric.MinIsWhite;
        for (var y = 0; y < height; y++)
        {
            var src = samples.Slice(y * width * spp, width * spp);
            var dst = rgba.Slice(y * stride, width * 4);
            switch (spp)
            {
                case 3:
                    for (int x = 0, s = 0, d = 0; x < width; x++, s += 3, d += 4)
                    {
                        dst[d] = src[s];
                        dst[d + 1] = src[s + 1];
                        dst[d + 2] = src[s + 2];
                        dst[d + 3] = 255;
                    }
                    break;
                case 4:
                    src.CopyTo(dst);
                    if (!context.HasAlpha)
                    {
                        for (var d = 3; d < dst.Length; d += 4)
                        {
                            dst[d] = 255;
                        }
                    }
                    break;
                case 1 or 2:
                    for (int x = 0, s = 0, d = 0; x < width; x++, s += spp, d += 4)
                    {
                        var v = invert ? (byte)(255 - src[s]) : src[s];
                        dst[d] = v;
                        dst[d + 1] = v;
                        dst[d + 2] = v;
                        dst[d + 3] = spp == 2 && context.HasAlpha ? src[s + 1] : (byte)255;
                    }
                    break;
                default:
                    throw new CodecException($"unsupported samples per pixel {spp}");
            }
        }
    }
}
