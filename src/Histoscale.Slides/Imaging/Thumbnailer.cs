using System.Buffers;

namespace Histoscale.Slides.Imaging;

/// <summary>
/// Thumbnails by area averaging from the best level, read in bounded chunks so even a single-level gigapixel
/// image never needs more than one chunk plus the thumbnail's accumulators in memory.
/// </summary>
internal static class Thumbnailer
{
    private const int Chunk = 2048;

    public static RgbaImage Create(Slide slide, int maxSize)
    {
        if (maxSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSize), "thumbnail size must be positive");
        }
        var scale = Math.Max(1.0, (double)Math.Max(slide.Width, slide.Height) / maxSize);
        var tw = (int)Math.Max(1, Math.Round(slide.Width / scale));
        var th = (int)Math.Max(1, Math.Round(slide.Height / scale));
        var level = slide.Levels[slide.GetBestLevelForDownsample(scale)];
        var sums = new long[tw * th * 4];
        var counts = new int[tw * th];
        var chunk = ArrayPool<byte>.Shared.Rent(Chunk * Chunk * 4);
        var xmap = new int[Math.Min(Chunk, level.Width)];
        try
        {
            for (long cy = 0; cy < level.Height; cy += Chunk)
            {
                var ch = (int)Math.Min(Chunk, level.Height - cy);
                for (long cx = 0; cx < level.Width; cx += Chunk)
                {
                    var cw = (int)Math.Min(Chunk, level.Width - cx);
                    slide.ReadLevelRegion(level.Index, cx, cy, cw, ch, chunk);
                    for (var x = 0; x < cw; x++)
                    {
                        xmap[x] = (int)((cx + x) * tw / level.Width);
                    }
                    for (var y = 0; y < ch; y++)
                    {
                        var ty = (int)((cy + y) * th / level.Height);
                        var src = chunk.AsSpan(y * cw * 4, cw * 4);
                        for (var x = 0; x < cw; x++)
                        {
                            var t = (ty * tw) + xmap[x];
                            var s = x * 4;
                            sums[t * 4] += src[s];
                            sums[(t * 4) + 1] += src[s + 1];
                            sums[(t * 4) + 2] += src[s + 2];
                            sums[(t * 4) + 3] += src[s + 3];
                            counts[t]++;
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        var pixels = new byte[tw * th * 4];
        for (var i = 0; i < counts.Length; i++)
        {
            var n = Math.Max(1, counts[i]);
            for (var c = 0; c < 4; c++)
            {
                pixels[(i * 4) + c] = (byte)((sums[(i * 4) + c] + (n / 2)) / n);
            }
        }
        return new RgbaImage(tw, th, pixels);
    }
}
