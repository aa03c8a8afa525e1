using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Quality;

/// <summary>
/// Focus from sparse full-resolution tiles: level-0 tiles over tissue are grouped into k×k blocks so that at most
/// <see cref="QualityOptions.MaxFocusSamples"/> are read; in each block the tile with the most tissue is decoded
/// (in parallel, straight from the file, bypassing the tile cache) and its focus measured: the variance of the
/// 4-neighbour Laplacian of the green channel over the variance of the green channel, which a stain or exposure
/// change scales alike and blur lowers. A block is blurred when its focus falls below
/// <see cref="QualityOptions.BlurRelative"/> × the slide's 90th percentile (the sharp reference, so clean tissue of
/// any texture is not flagged) or below <see cref="QualityOptions.BlurAbsolute"/> (a slide blurred all over).
/// </summary>
internal static class FocusSampler
{
    /// <summary>Largest window a sample reads: bigger level-0 tiles are sampled by a centred window of this size.</summary>
    private const int MaxWindow = 512;

    /// <summary>
    /// Marks blurred blocks in <paramref name="blur"/> (mask pixels, 1 = blurred); returns the tiles read. A sample
    /// whose data is corrupt says nothing about focus: it is left out and queued in <paramref name="unreadable"/> (by
    /// sample index) when given.
    /// </summary>
    public static int Measure(Slide slide, byte[] tissue, int width, int height, byte[] blur, QualityOptions options, int parallelism, CancellationToken cancellationToken,
        System.Collections.Concurrent.ConcurrentQueue<(long Index, SlideException Error)>? unreadable = null)
    {
        var level = slide.Levels[0];
        var tiled = level.TileWidth <= 1024 && level.TileHeight <= 1024;
        var cellW = tiled ? level.TileWidth : MaxWindow;
        var cellH = tiled ? level.TileHeight : MaxWindow;
        var across = (int)((level.Width + cellW - 1) / cellW);
        var down = (int)((level.Height + cellH - 1) / cellH);
        var index = new TissueMask(tissue, width, height, (double)slide.Width / width, (double)slide.Height / height);
        var fractions = new float[(long)across * down];
        var eligible = 0;
        for (var r = 0; r < down; r++)
        {
            for (var c = 0; c < across; c++)
            {
                var f = (float)index.Fraction((double)c * cellW, (double)r * cellH, Math.Min(cellW, level.Width - ((long)c * cellW)), Math.Min(cellH, level.Height - ((long)r * cellH)));
                fractions[((long)r * across) + c] = f;
                eligible += f >= options.FocusMinTissue ? 1 : 0;
            }
        }
        if (eligible == 0)
        {
            return 0;
        }
        var k = Math.Max(1, (int)Math.Ceiling(Math.Sqrt((double)eligible / options.MaxFocusSamples)));
        var samples = new List<(int Col, int Row, int BlockCol, int BlockRow)>();
        for (var br = 0; br * k < down; br++)
        {
            for (var bc = 0; bc * k < across; bc++)
            {
                var best = (Col: -1, Row: -1, F: -1f);
                for (var r = br * k; r < Math.Min(down, (br + 1) * k); r++)
                {
                    for (var c = bc * k; c < Math.Min(across, (bc + 1) * k); c++)
                    {
                        var f = fractions[((long)r * across) + c];
                        if (f >= options.FocusMinTissue && f > best.F)
                        {
                            best = (c, r, f);
                        }
                    }
                }
                if (best.Col >= 0)
                {
                    samples.Add((best.Col, best.Row, bc, br));
                }
            }
        }

        var focus = new double[samples.Count];
        var bufferBytes = (tiled ? level.TileWidth * level.TileHeight : MaxWindow * MaxWindow) * 4;
        try
        {
            Parallel.For(0, samples.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
                () => (Rgba: ArrayPool<byte>.Shared.Rent(bufferBytes), Gray: ArrayPool<short>.Shared.Rent(bufferBytes / 4)),
                (i, _, buffers) =>
                {
                    var (col, row, _, _) = samples[i];
                    var x0 = (long)col * cellW;
                    var y0 = (long)row * cellH;
                    var w = (int)Math.Min(cellW, level.Width - x0);
                    var h = (int)Math.Min(cellH, level.Height - y0);
                    var rgba = buffers.Rgba.AsSpan(0, bufferBytes);
                    try
                    {
                        if (tiled)
                        {
                            if (slide.ReadTile(0, col, row, rgba) == TileStatus.Blank)
                            {
                                focus[i] = double.NaN;
                                return buffers;
                            }
                            focus[i] = Focus(rgba, level.TileWidth, w, h, buffers.Gray);
                        }
                        else
                        {
                            slide.ReadRegion(0, x0, y0, w, h, rgba[..(w * h * 4)]);
                            focus[i] = Focus(rgba, w, w, h, buffers.Gray);
                        }
                    }
                    catch (SlideException ex) when (ex.IsCorruptData)
                    {
                        focus[i] = double.NaN; // a damaged tile says nothing about focus
                        unreadable?.Enqueue((i, ex));
                    }
                    return buffers;
                },
                buffers =>
                {
                    ArrayPool<byte>.Shared.Return(buffers.Rgba);
                    ArrayPool<short>.Shared.Return(buffers.Gray);
                });
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }

        var measured = focus.Where(double.IsFinite).Order().ToArray();
        if (measured.Length == 0)
        {
            return samples.Count;
        }
        var reference = measured[Math.Min(measured.Length - 1, (int)(0.9 * measured.Length))];
        var threshold = Math.Max(options.BlurAbsolute, options.BlurRelative * reference);
        var sx = (double)width / slide.Width;
        var sy = (double)height / slide.Height;
        for (var i = 0; i < samples.Count; i++)
        {
            if (!(focus[i] < threshold))
            {
                continue;
            }
            // The whole block the sample stands for, in mask pixels (pixel centres inside it).
            var (_, _, bc, br) = samples[i];
            var mx0 = (int)Math.Ceiling((bc * k * (double)cellW * sx) - 0.5);
            var mx1 = (int)Math.Ceiling((Math.Min(level.Width, (long)(bc + 1) * k * cellW) * sx) - 0.5);
            var my0 = (int)Math.Ceiling((br * k * (double)cellH * sy) - 0.5);
            var my1 = (int)Math.Ceiling((Math.Min(level.Height, (long)(br + 1) * k * cellH) * sy) - 0.5);
            for (var y = Math.Max(0, my0); y < Math.Min(height, my1); y++)
            {
                blur.AsSpan((y * width) + Math.Max(0, mx0), Math.Max(0, Math.Min(width, mx1) - Math.Max(0, mx0))).Fill(1);
            }
        }
        return samples.Count;
    }

    /// <summary>Edge of the blocks a tile's focus is measured in (so a tissue edge does not count as texture).</summary>
    private const int Block = 64;

    /// <summary>Blocks whose mean green is above this are glass and not measured.</summary>
    private const int GlassGreen = 220;

    /// <summary>
    /// The median over the tile's tissue blocks (64 × 64) of Var(Laplacian of green) / (Var(green) + 1), over the
    /// <paramref name="w"/> × <paramref name="h"/> corner of an RGBA tile with rows <paramref name="stride"/> pixels
    /// apart; NaN without tissue blocks. The Laplacian is vectorised over rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Focus(ReadOnlySpan<byte> rgba, int stride, int w, int h, short[] grayBuffer)
    {
        if (w < 3 || h < 3)
        {
            return double.NaN;
        }
        var gray = grayBuffer.AsSpan(0, w * h);
        for (var y = 0; y < h; y++)
        {
            var src = rgba.Slice(y * stride * 4, w * 4);
            var dst = gray.Slice(y * w, w);
            for (var x = 0; x < w; x++)
            {
                dst[x] = src[(x * 4) + 1];
            }
        }
        var block = Math.Min(Block, Math.Min(w, h));
        Span<double> ratios = stackalloc double[((w + block - 1) / block) * ((h + block - 1) / block)];
        var count = 0;
        for (var by = 0; by + block <= h; by += block)
        {
            for (var bx = 0; bx + block <= w; bx += block)
            {
                if (BlockRatio(gray, w, bx, by, block) is var r && double.IsFinite(r))
                {
                    ratios[count++] = r;
                }
            }
        }
        if (count == 0)
        {
            return double.NaN;
        }
        var found = ratios[..count];
        found.Sort();
        return found[count / 2];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double BlockRatio(ReadOnlySpan<short> gray, int w, int bx, int by, int block)
    {
        long sum = 0, sumSq = 0;
        for (var y = by; y < by + block; y++)
        {
            foreach (var g in gray.Slice((y * w) + bx, block))
            {
                sum += g;
                sumSq += g * g;
            }
        }
        var count = (double)block * block;
        var mean = sum / count;
        if (mean > GlassGreen)
        {
            return double.NaN;
        }
        long lapSum = 0, lapSq = 0;
        var n = Vector<short>.Count;
        var x0 = Math.Max(1, bx);
        var x1 = Math.Min(w - 1, bx + block);
        var h = gray.Length / w;
        for (var y = Math.Max(1, by); y < Math.Min(h - 1, by + block); y++)
        {
            var row = y * w;
            var x = x0;
            if (Vector.IsHardwareAccelerated)
            {
                var rowSum = Vector<int>.Zero;
                var rowSq = Vector<int>.Zero;
                for (; x + n <= x1; x += n)
                {
                    var c = new Vector<short>(gray[(row + x)..]);
                    var lap = (c * (short)4) - new Vector<short>(gray[(row + x - 1)..]) - new Vector<short>(gray[(row + x + 1)..])
                        - new Vector<short>(gray[(row + x - w)..]) - new Vector<short>(gray[(row + x + w)..]);
                    Vector.Widen(lap, out var lo, out var hi);
                    rowSum += lo + hi;
                    rowSq += (lo * lo) + (hi * hi);
                }
                lapSum += Vector.Sum(rowSum);
                lapSq += SumLong(rowSq);
            }
            for (; x < x1; x++)
            {
                var i = row + x;
                var lap = (4 * gray[i]) - gray[i - 1] - gray[i + 1] - gray[i - w] - gray[i + w];
                lapSum += lap;
                lapSq += lap * lap;
            }
        }
        var lapCount = (double)(x1 - x0) * (Math.Min(h - 1, by + block) - Math.Max(1, by));
        var variance = Math.Max(0, (sumSq / count) - (mean * mean));
        var lapMean = lapSum / lapCount;
        var lapVariance = Math.Max(0, (lapSq / lapCount) - (lapMean * lapMean));
        return lapVariance / (variance + 1);
    }

    private static long SumLong(Vector<int> v)
    {
        long total = 0;
        for (var i = 0; i < Vector<int>.Count; i++)
        {
            total += v[i];
        }
        return total;
    }
}
