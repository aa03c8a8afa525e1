using System.Collections.Concurrent;
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Tissue;

/// <summary>How tissue is told from glass.</summary>
public sealed record TissueOptions
{
    /// <summary>Longest side of the thumbnail the mask is computed on.</summary>
    public int ThumbnailSize { get; init; } = 2048;

    /// <summary>
    /// Bounds on Otsu's saturation threshold (0–255 scale). The lower bound keeps faintly tinted glass out when a
    /// slide is mostly glass; the upper one keeps pale tissue in when a slide is mostly tissue (Otsu then splits
    /// tissue from tissue).
    /// </summary>
    public int MinThreshold { get; init; } = 10;

    /// <summary>Upper bound on the saturation threshold (0–255); see <see cref="MinThreshold"/>.</summary>
    public int MaxThreshold { get; init; } = 40;

    /// <summary>Closing radius in mask pixels: joins tissue fragments, fills small holes.</summary>
    public int CloseRadius { get; init; } = 2;

    /// <summary>Opening radius in mask pixels: removes dust and specks.</summary>
    public int OpenRadius { get; init; } = 2;
}

/// <summary>
/// Finds tissue on a low-resolution thumbnail: HSV saturation per pixel (stained tissue is coloured, glass is
/// grey-white), Otsu's threshold on its histogram (clamped, see <see cref="TissueOptions"/>), then closing and
/// opening. Transparent pixels (outside the scanned area) are background. When the thumbnail is a pyramid level as
/// it is (the usual case), that level's tiles are decoded in parallel straight into it, bypassing the slide's tile
/// cache; nothing of a more detailed level is read. Every step after that is spread over the cores too.
/// </summary>
public static class TissueDetector
{
    /// <summary>Computes the tissue mask of <paramref name="slide"/> from a thumbnail whose longest side is near <see cref="TissueOptions.ThumbnailSize"/> (between half and twice it, matched to a pyramid level so it reads cheaply).</summary>
    public static TissueMask Detect(Slide slide, TissueOptions? options = null) => DetectWithImage(slide, options).Mask;

    /// <summary><see cref="Detect"/>, also returning the low-resolution image the mask was computed on (pixel for pixel): stain estimation reuses it.</summary>
    internal static (TissueMask Mask, RgbaImage Image) DetectWithImage(Slide slide, TissueOptions? options = null)
    {
        options ??= new TissueOptions();
        var parallelism = Environment.ProcessorCount;
        var unreadable = new ConcurrentQueue<(long Index, SlideException Error)>();
        var thumb = DetectionImage(slide, ThumbnailSize(slide, options.ThumbnailSize), parallelism, unreadable, out var tiles, out var unknown);
        var (mask, _) = Segment(thumb.Pixels, thumb.Width, thumb.Height, options, parallelism);
        if (unknown is not null)
        {
            // What a corrupt detection tile covers is unknown: tissue, so its tiles are planned and read at the
            // inference level (their own data), rather than dropped as glass without anyone seeing it.
            for (var i = 0; i < mask.Length; i++)
            {
                mask[i] |= unknown[i];
            }
        }
        var result = new TissueMask(mask, thumb.Width, thumb.Height, (double)slide.Width / thumb.Width, (double)slide.Height / thumb.Height)
        {
            DetectionTiles = tiles,
            UnreadableTiles = unreadable.Count,
            UnreadableCauses = [.. unreadable.OrderBy(u => u.Index).Take(MaxCauses).Select(u => u.Error.Message)],
            Unknown = unknown,
        };
        return (result, thumb);
    }

    /// <summary>
    /// The image <see cref="Slide.GetThumbnail"/> gives for <paramref name="maxSize"/>, pixel for pixel. When it is a
    /// level of the pyramid at its own size (each thumbnail pixel one level pixel), the level's tiles are decoded in
    /// parallel, without the tile cache, each straight into its place; otherwise the slide's thumbnailer averages it.
    /// </summary>
    internal static RgbaImage DetectionImage(Slide slide, int maxSize, int parallelism) => DetectionImage(slide, maxSize, parallelism, null, out _);

    /// <summary>Causes of unreadable detection tiles a mask keeps (the first in tile order); the count covers them all.</summary>
    private const int MaxCauses = 5;

    /// <summary>
    /// As above; a level tile whose data is corrupt (<see cref="SlideException.IsCorruptData"/>) is left transparent
    /// and queued in <paramref name="unreadable"/> when given, instead of failing the whole image.
    /// <paramref name="tiles"/> is the number of level tiles read.
    /// </summary>
    internal static RgbaImage DetectionImage(Slide slide, int maxSize, int parallelism, ConcurrentQueue<(long Index, SlideException Error)>? unreadable, out long tiles) =>
        DetectionImage(slide, maxSize, parallelism, unreadable, out tiles, out _);

    /// <summary>
    /// As above, also returning which image pixels a corrupt tile covered (1 = unknown; null when every tile was
    /// read). When the level is not the image's size, the image is averaged from the level tile by tile exactly as the
    /// slide's thumbnailer averages it (the same pixels), so a corrupt tile there is skipped and counted too instead
    /// of failing the whole thumbnail (OpenSlide-based pipelines fail it); pixels it covered average the readable
    /// rest of their area, and are unknown.
    /// </summary>
    internal static RgbaImage DetectionImage(Slide slide, int maxSize, int parallelism, ConcurrentQueue<(long Index, SlideException Error)>? unreadable, out long tiles, out byte[]? unknown)
    {
        tiles = 0;
        unknown = null;
        // The thumbnailer's geometry: its size, and the level it reads.
        var scale = Math.Max(1.0, (double)Math.Max(slide.Width, slide.Height) / maxSize);
        var tw = (int)Math.Max(1, Math.Round(slide.Width / scale));
        var th = (int)Math.Max(1, Math.Round(slide.Height / scale));
        var level = slide.Levels[slide.GetBestLevelForDownsample(scale)];
        if (level.Width != tw || level.Height != th)
        {
            if (unreadable is null || (long)level.TileWidth * level.TileHeight > MaxAveragedTilePixels)
            {
                return slide.GetThumbnail(maxSize);
            }
            try
            {
                // The thumbnailer's parallel path first (the same pixels as the average below, several times faster);
                // only a corrupt tile sends the detection to the tile-by-tile average that can skip it.
                var image = slide.GetThumbnail(maxSize);
                tiles = level.TilesAcross * level.TilesDown;
                return image;
            }
            catch (SlideException ex) when (ex.IsCorruptData)
            {
                return Averaged(slide, level, tw, th, unreadable, out tiles, out unknown);
            }
        }
        var pixels = new byte[(long)tw * th * 4];
        var covered = new ConcurrentQueue<(int X, int Y, int W, int H)>();
        var across = level.TilesAcross;
        tiles = across * level.TilesDown;
        var tileBytes = level.TileWidth * level.TileHeight * 4;
        try
        {
            Parallel.For(0L, across * level.TilesDown, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) },
                () => ArrayPool<byte>.Shared.Rent(tileBytes),
                (i, _, tile) =>
                {
                    var col = i % across;
                    var row = i / across;
                    try
                    {
                        if (slide.ReadTile(level.Index, col, row, tile.AsSpan(0, tileBytes)) == TileStatus.Blank)
                        {
                            return tile; // stored empty: transparent, as the thumbnailer leaves it
                        }
                    }
                    catch (SlideException ex) when (ex.IsCorruptData && unreadable is not null)
                    {
                        unreadable.Enqueue((i, ex));
                        var cx = (int)(col * level.TileWidth);
                        var cy = (int)(row * level.TileHeight);
                        covered.Enqueue((cx, cy, Math.Min(level.TileWidth, tw - cx), Math.Min(level.TileHeight, th - cy)));
                        return tile; // left transparent; its area is unknown
                    }
                    var x0 = (int)(col * level.TileWidth);
                    var y0 = (int)(row * level.TileHeight);
                    var bytes = Math.Min(level.TileWidth, tw - x0) * 4;
                    var rows = Math.Min(level.TileHeight, th - y0);
                    for (var y = 0; y < rows; y++)
                    {
                        tile.AsSpan(y * level.TileWidth * 4, bytes).CopyTo(pixels.AsSpan((((y0 + y) * tw) + x0) * 4));
                    }
                    return tile;
                },
                tile => ArrayPool<byte>.Shared.Return(tile));
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            // The first failing tile's own error (it names the file, level and tile).
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }
        if (!covered.IsEmpty)
        {
            unknown = new byte[(long)tw * th];
            foreach (var (x, y, w, h) in covered)
            {
                for (var yy = y; yy < y + h; yy++)
                {
                    unknown.AsSpan((yy * tw) + x, w).Fill(1);
                }
            }
        }
        return new RgbaImage(tw, th, pixels);
    }

    /// <summary>Largest level tile (pixels) the tile-by-tile average reads; a level of bigger tiles or strips is left to the thumbnailer.</summary>
    private const long MaxAveragedTilePixels = 16L * 1024 * 1024;

    /// <summary>
    /// The thumbnailer's area average (<see cref="Slide.GetThumbnail"/>: each image pixel the rounded mean of the level
    /// pixels that map to it, blank tiles transparent), computed tile by tile so that a corrupt tile is skipped:
    /// queued in <paramref name="unreadable"/>, its pixels not counted, and the image pixels it maps to marked in
    /// <paramref name="unknown"/>. With every tile readable the image is the thumbnailer's, pixel for pixel.
    /// </summary>
    private static RgbaImage Averaged(Slide slide, Level level, int tw, int th, ConcurrentQueue<(long Index, SlideException Error)> unreadable, out long tiles, out byte[]? unknown)
    {
        unknown = null;
        var across = level.TilesAcross;
        var down = level.TilesDown;
        tiles = across * down;
        var sums = new long[(long)tw * th * 4];
        var counts = new int[(long)tw * th];
        var tileBytes = level.TileWidth * level.TileHeight * 4;
        var tile = ArrayPool<byte>.Shared.Rent(tileBytes);
        var xmap = new int[level.TileWidth];
        try
        {
            for (long row = 0; row < down; row++)
            {
                var y0 = row * level.TileHeight;
                var rows = (int)Math.Min(level.TileHeight, level.Height - y0);
                for (long col = 0; col < across; col++)
                {
                    var x0 = col * level.TileWidth;
                    var cols = (int)Math.Min(level.TileWidth, level.Width - x0);
                    for (var x = 0; x < cols; x++)
                    {
                        xmap[x] = (int)((x0 + x) * tw / level.Width);
                    }
                    try
                    {
                        if (slide.ReadTile(level.Index, col, row, tile.AsSpan(0, tileBytes)) == TileStatus.Blank)
                        {
                            tile.AsSpan(0, tileBytes).Clear(); // stored empty: transparent, as the thumbnailer reads it
                        }
                    }
                    catch (SlideException ex) when (ex.IsCorruptData)
                    {
                        unreadable.Enqueue(((row * across) + col, ex));
                        unknown ??= new byte[(long)tw * th];
                        var ty0 = (int)(y0 * th / level.Height);
                        var ty1 = (int)((y0 + rows - 1) * th / level.Height);
                        for (var ty = ty0; ty <= ty1; ty++)
                        {
                            unknown.AsSpan((ty * tw) + xmap[0], xmap[cols - 1] - xmap[0] + 1).Fill(1);
                        }
                        continue; // its pixels are not counted: what it covers averages the readable rest
                    }
                    for (var y = 0; y < rows; y++)
                    {
                        var ty = (int)((y0 + y) * th / level.Height);
                        var src = tile.AsSpan(y * level.TileWidth * 4, cols * 4);
                        for (var x = 0; x < cols; x++)
                        {
                            var t = (ty * tw) + xmap[x];
                            var p = x * 4;
                            sums[t * 4] += src[p];
                            sums[(t * 4) + 1] += src[p + 1];
                            sums[(t * 4) + 2] += src[p + 2];
                            sums[(t * 4) + 3] += src[p + 3];
                            counts[t]++;
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(tile);
        }
        var pixels = new byte[(long)tw * th * 4];
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

    /// <summary>
    /// The longer side of the smallest pyramid level that still has at least half the wanted size: the thumbnail
    /// then comes straight from that level (a few megapixels to decode) instead of being averaged down from a
    /// much larger one. Capped at <paramref name="wanted"/> when no level is that small.
    /// </summary>
    private static int ThumbnailSize(Slide slide, int wanted)
    {
        var best = wanted;
        for (var i = slide.Levels.Count - 1; i >= 0; i--)
        {
            var side = Math.Max(slide.Levels[i].Width, slide.Levels[i].Height);
            if (side >= wanted / 2)
            {
                best = (int)Math.Min(side, wanted * 2L);
                break;
            }
        }
        return best;
    }

    /// <summary>Segments an RGBA image; returns the mask (1 = tissue) and the saturation threshold used.</summary>
    public static (byte[] Mask, int Threshold) Segment(ReadOnlySpan<byte> rgba, int width, int height, TissueOptions options)
    {
        var n = width * height;
        var mask = new byte[n];
        Span<long> histogram = stackalloc long[256];
        histogram.Clear();
        Saturation(rgba[..(n * 4)], mask, histogram);
        var threshold = Math.Clamp(Otsu.Threshold(histogram), options.MinThreshold, options.MaxThreshold);
        Threshold(mask, threshold);
        BinaryMorphology.Close(mask, width, height, options.CloseRadius);
        BinaryMorphology.Open(mask, width, height, options.OpenRadius);
        return (mask, threshold);
    }

    /// <summary><see cref="Segment(ReadOnlySpan{byte}, int, int, TissueOptions)"/>, the same mask, with its passes spread over <paramref name="parallelism"/> threads.</summary>
    internal static (byte[] Mask, int Threshold) Segment(byte[] rgba, int width, int height, TissueOptions options, int parallelism)
    {
        var n = width * height;
        var mask = new byte[n];
        var histogram = new long[256];
        var gate = new Lock();
        var bands = Math.Clamp(Math.Min(parallelism * 4, height / 64), 1, Math.Max(1, height));
        var rowsPerBand = (height + bands - 1) / bands;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism) };
        Parallel.For(0, bands, parallel, b =>
        {
            var y0 = Math.Min(height, b * rowsPerBand);
            var y1 = Math.Min(height, (b + 1) * rowsPerBand);
            Span<long> local = stackalloc long[256];
            local.Clear();
            Saturation(rgba.AsSpan(y0 * width * 4, (y1 - y0) * width * 4), mask.AsSpan(y0 * width, (y1 - y0) * width), local);
            lock (gate)
            {
                for (var i = 0; i < 256; i++)
                {
                    histogram[i] += local[i];
                }
            }
        });
        var threshold = Math.Clamp(Otsu.Threshold(histogram), options.MinThreshold, options.MaxThreshold);
        Parallel.For(0, bands, parallel, b =>
        {
            var y0 = Math.Min(height, b * rowsPerBand);
            var y1 = Math.Min(height, (b + 1) * rowsPerBand);
            Threshold(mask.AsSpan(y0 * width, (y1 - y0) * width), threshold);
        });
        BinaryMorphology.Close(mask, width, height, options.CloseRadius, parallelism);
        BinaryMorphology.Open(mask, width, height, options.OpenRadius, parallelism);
        return (mask, threshold);
    }

    /// <summary>
    /// HSV saturation ((max − min)·255 / max, integer) of each opaque pixel into <paramref name="saturation"/>, counted
    /// in <paramref name="histogram"/>; transparent pixels (outside the image) stay 0 and are not counted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Saturation(ReadOnlySpan<byte> rgba, Span<byte> saturation, Span<long> histogram)
    {
        var table = SaturationTable;
        for (var i = 0; i < saturation.Length; i++)
        {
            var p = rgba.Slice(i * 4, 4);
            if (p[3] == 0)
            {
                continue;
            }
            int r = p[0], g = p[1], b = p[2];
            var max = Math.Max(r, Math.Max(g, b));
            var min = Math.Min(r, Math.Min(g, b));
            var s = table[(max << 8) | min];
            saturation[i] = s;
            histogram[s]++;
        }
    }

    /// <summary>Saturation → 1 at or above the threshold, else 0, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Threshold(Span<byte> values, int threshold)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && threshold > 0)
        {
            var limit = new Vector<byte>((byte)(threshold - 1));
            var one = Vector<byte>.One;
            var n = Vector<byte>.Count;
            for (; i <= values.Length - n; i += n)
            {
                (Vector.GreaterThan(new Vector<byte>(values[i..]), limit) & one).CopyTo(values[i..]);
            }
        }
        for (; i < values.Length; i++)
        {
            values[i] = values[i] >= threshold ? (byte)1 : (byte)0;
        }
    }

    /// <summary>Saturation by (max, min): ((max − min)·255) / max, 0 for black; 64 KiB, computed once.</summary>
    private static readonly byte[] SaturationTable = BuildSaturationTable();

    private static byte[] BuildSaturationTable()
    {
        var table = new byte[256 * 256];
        for (var max = 1; max < 256; max++)
        {
            for (var min = 0; min <= max; min++)
            {
                table[(max << 8) | min] = (byte)(((max - min) * 255) / max);
            }
        }
        return table;
    }
}
