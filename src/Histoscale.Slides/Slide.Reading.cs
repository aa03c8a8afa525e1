using Histoscale.Slides.Caching;

namespace Histoscale.Slides;

public sealed partial class Slide
{
    /// <summary>Largest region the array-returning overloads will allocate (the span overloads have no limit).</summary>
    public const long MaxRegionPixels = 256L * 1024 * 1024;

    /// <summary>
    /// Reads a region into RGBA (straight alpha): x, y in level-0 pixels (OpenSlide's convention), width and height
    /// in pixels of <paramref name="level"/>. Pixels outside the image are transparent (0,0,0,0).
    /// </summary>
    public void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgba)
    {
        var lvl = CheckLevel(level);
        ReadAt(level, x / lvl.Downsample, y / lvl.Downsample, width, height, rgba);
    }

    /// <summary>
    /// Reads a region whose top-left lies at fractional level coordinates. OpenSlide paints a level at the position
    /// x/downsample, so off-grid pixels are bilinearly shifted; we do the same, so that regions agree with it at any
    /// coordinates.
    /// </summary>
    private void ReadAt(int level, double lx, double ly, int width, int height, Span<byte> rgba)
    {
        var ix = (long)Math.Floor(lx);
        var iy = (long)Math.Floor(ly);
        var (dx, dy) = (Imaging.SubpixelShift.Weight(lx - ix), Imaging.SubpixelShift.Weight(ly - iy));
        if (dx == 0 && dy == 0)
        {
            ReadLevelRegion(level, ix, iy, width, height, rgba);
            return;
        }
        if (rgba.Length < CheckedArea(width, height) * 4)
        {
            throw new ArgumentException($"buffer of {rgba.Length} bytes is smaller than {width}x{height}x4", nameof(rgba));
        }
        var area = CheckedArea(width + 1L, height + 1L);
        var source = System.Buffers.ArrayPool<byte>.Shared.Rent((int)(area * 4));
        try
        {
            ReadLevelRegion(level, ix, iy, width + 1, height + 1, source);
            Imaging.SubpixelShift.Apply(source, width + 1, dx, dy, rgba, width, height);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(source);
        }
    }

    /// <summary>Reads a region and returns it as a new RGBA image.</summary>
    public RgbaImage ReadRegion(int level, long x, long y, int width, int height)
    {
        var pixels = new byte[CheckedArea(width, height) * 4];
        ReadRegion(level, x, y, width, height, pixels);
        return new RgbaImage(width, height, pixels);
    }

    /// <summary>Reads a region as RGB, pixels outside the image (or blank) painted with <paramref name="fill"/> (default white).</summary>
    public void ReadRegionRgb(int level, long x, long y, int width, int height, Span<byte> rgb, (byte R, byte G, byte B)? fill = null)
    {
        var area = CheckedArea(width, height);
        if (rgb.Length < area * 3)
        {
            throw new ArgumentException($"buffer of {rgb.Length} bytes is smaller than {width}x{height}x3", nameof(rgb));
        }
        var (fr, fg, fb) = fill ?? ((byte)255, (byte)255, (byte)255);
        var rows = Math.Max(1, (int)Math.Min(height, (4L * 1024 * 1024) / Math.Max(1, width * 4L)));
        var band = System.Buffers.ArrayPool<byte>.Shared.Rent(width * rows * 4);
        try
        {
            var lvl = CheckLevel(level);
            var lx = x / lvl.Downsample;
            var ly = y / lvl.Downsample;
            for (var y0 = 0; y0 < height; y0 += rows)
            {
                // Same pixels as the RGBA overload, band by band (including its sub-pixel position).
                var h = Math.Min(rows, height - y0);
                var src = band.AsSpan(0, width * h * 4);
                ReadAt(level, lx, ly + y0, width, h, src);
                var dst = rgb.Slice(y0 * width * 3, width * h * 3);
                for (int s = 0, d = 0; s < src.Length; s += 4, d += 3)
                {
                    var a = src[s + 3];
                    if (a == 255)
                    {
                        dst[d] = src[s];
                        dst[d + 1] = src[s + 1];
                        dst[d + 2] = src[s + 2];
                    }
                    else
                    {
                        dst[d] = Blend(src[s], fr, a);
                        dst[d + 1] = Blend(src[s + 1], fg, a);
                        dst[d + 2] = Blend(src[s + 2], fb, a);
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(band);
        }
    }

    /// <summary>
    /// Reads a region in the level's own pixel coordinates. Tiles come from the cache or are decoded on this thread;
    /// only the parts inside the image are copied, so the rest stays transparent.
    /// </summary>
    public void ReadLevelRegion(int level, long lx, long ly, int width, int height, Span<byte> rgba)
    {
        var lvl = CheckLevel(level);
        var area = CheckedArea(width, height);
        if (rgba.Length < area * 4)
        {
            throw new ArgumentException($"buffer of {rgba.Length} bytes is smaller than {width}x{height}x4", nameof(rgba));
        }
        rgba[..(int)(area * 4)].Clear();
        var x0 = Math.Max(lx, 0);
        var y0 = Math.Max(ly, 0);
        var x1 = Math.Min(lx + width, lvl.Width);
        var y1 = Math.Min(ly + height, lvl.Height);
        if (x0 >= x1 || y0 >= y1)
        {
            return;
        }
        var tw = lvl.TileWidth;
        var th = lvl.TileHeight;
        for (var row = y0 / th; row * th < y1; row++)
        {
            for (var col = x0 / tw; col * tw < x1; col++)
            {
                var tile = GetTile(level, col, row);
                try
                {
                    if (tile.Status == TileStatus.Blank)
                    {
                        continue;
                    }
                    var tx0 = Math.Max(x0, col * tw);
                    var tx1 = Math.Min(x1, (col + 1) * tw);
                    var ty0 = Math.Max(y0, row * th);
                    var ty1 = Math.Min(y1, (row + 1) * th);
                    var bytes = (int)(tx1 - tx0) * 4;
                    var pixels = tile.Rgba;
                    for (var yy = ty0; yy < ty1; yy++)
                    {
                        var src = pixels.AsSpan((int)((((yy - (row * th)) * tw) + (tx0 - (col * tw))) * 4), bytes);
                        src.CopyTo(rgba.Slice((int)((((yy - ly) * width) + (tx0 - lx)) * 4), bytes));
                    }
                }
                finally
                {
                    tile.Release();
                }
            }
        }
    }

    /// <summary>
    /// Decodes one tile of a level into <paramref name="rgba"/> (TileWidth × TileHeight × 4 bytes); parts of edge tiles
    /// outside the image are transparent. Bypasses the cache unless <paramref name="useCache"/>: a tile read once
    /// (a pipeline pass, a benchmark) should not evict tiles a viewer will want again.
    /// </summary>
    public TileStatus ReadTile(int level, long col, long row, Span<byte> rgba, bool useCache = false)
    {
        var lvl = CheckLevel(level);
        if (col < 0 || row < 0 || col >= lvl.TilesAcross || row >= lvl.TilesDown)
        {
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) is outside level {level}'s {lvl.TilesAcross}x{lvl.TilesDown} grid");
        }
        var size = lvl.TileWidth * lvl.TileHeight * 4;
        if (rgba.Length < size)
        {
            throw new ArgumentException($"buffer of {rgba.Length} bytes is smaller than a {lvl.TileWidth}x{lvl.TileHeight} tile", nameof(rgba));
        }
        TileStatus status;
        if (useCache)
        {
            var tile = GetTile(level, col, row);
            try
            {
                tile.Rgba.AsSpan(0, size).CopyTo(rgba);
                status = tile.Status;
            }
            finally
            {
                tile.Release();
            }
        }
        else
        {
            status = DecodeFresh(level, col, row, rgba[..size]);
        }
        return status;
    }

    /// <summary>
    /// Reads tile (col,row) of a level as three planes R, G, B (TileWidth × TileHeight bytes each, rows TileWidth
    /// apart) — an NCHW tensor's layout, without an RGBA pass — when the tile lies wholly inside the level and its
    /// codec can decode planes directly. False otherwise (edge, blank or not planar-decodable tiles): use
    /// <see cref="ReadTile(int, long, long, Span{byte}, bool)"/> then. Bypasses the cache, like the default
    /// <c>ReadTile</c>: a single pass over a slide should not churn it. With <paramref name="includePadding"/>, a
    /// tile at the right or bottom edge is decoded whole, padding beyond the level included, for callers that use
    /// only the part inside the level.
    /// </summary>
    public bool TryReadTilePlanar(int level, long col, long row, Span<byte> red, Span<byte> green, Span<byte> blue, bool includePadding = false)
    {
        var lvl = CheckLevel(level);
        if (col < 0 || row < 0 || col >= lvl.TilesAcross || row >= lvl.TilesDown)
        {
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) is outside level {level}'s {lvl.TilesAcross}x{lvl.TilesDown} grid");
        }
        var plane = lvl.TileWidth * lvl.TileHeight;
        if (red.Length < plane || green.Length < plane || blue.Length < plane)
        {
            throw new ArgumentException($"planes must hold {lvl.TileWidth}x{lvl.TileHeight} bytes each");
        }
        if (!includePadding && ((col + 1) * lvl.TileWidth > lvl.Width || (row + 1) * lvl.TileHeight > lvl.Height))
        {
            return false; // part of it lies outside the level: transparent there, which planes cannot say
        }
        return _layout.Levels[level].TryDecodeTilePlanar(col, row, red, green, blue);
    }

    /// <summary>Whether <see cref="TryReadTilePlanar"/> can succeed on this level at all (its tiles' codec decodes to planes).</summary>
    public bool CanReadTilesPlanar(int level) => _layout.Levels[CheckLevel(level).Index].CanDecodePlanar;

    /// <summary>Reads one tile as a new RGBA image of the level's tile size.</summary>
    public RgbaImage ReadTile(int level, long col, long row)
    {
        var lvl = CheckLevel(level);
        var pixels = new byte[lvl.TileWidth * lvl.TileHeight * 4];
        ReadTile(level, col, row, pixels, useCache: true);
        return new RgbaImage(lvl.TileWidth, lvl.TileHeight, pixels);
    }

    /// <summary>Reads a whole associated image ("thumbnail", "label", "macro") as RGBA.</summary>
    public RgbaImage ReadAssociatedImage(string name)
    {
        if (!_layout.AssociatedImages.TryGetValue(name, out var image))
        {
            var known = AssociatedImages.Count == 0 ? "none" : string.Join(", ", AssociatedImages.Keys);
            throw new SlideException(Source, $"no associated image '{name}' (available: {known})");
        }
        if (image.Width * image.Height > MaxRegionPixels)
        {
            throw new SlideException(Source, $"associated image '{name}' claims {image.Width}x{image.Height} pixels, more than {MaxRegionPixels}");
        }
        var w = (int)image.Width;
        var h = (int)image.Height;
        var pixels = new byte[w * h * 4];
        var block = new byte[image.TileWidth * image.TileHeight * 4];
        for (long row = 0; row < image.TilesDown; row++)
        {
            for (long col = 0; col < image.TilesAcross; col++)
            {
                Array.Clear(block);
                if (image.DecodeTile(col, row, block) == TileStatus.Blank)
                {
                    continue;
                }
                var x0 = (int)(col * image.TileWidth);
                var y0 = (int)(row * image.TileHeight);
                var cw = Math.Min(image.TileWidth, w - x0);
                var ch = Math.Min(image.TileHeight, h - y0);
                for (var yy = 0; yy < ch; yy++)
                {
                    block.AsSpan(yy * image.TileWidth * 4, cw * 4).CopyTo(pixels.AsSpan((((y0 + yy) * w) + x0) * 4));
                }
            }
        }
        return new RgbaImage(w, h, pixels);
    }

    /// <summary>A thumbnail whose longer side is at most <paramref name="maxSize"/>, built from the best level with bounded memory.</summary>
    public RgbaImage GetThumbnail(int maxSize) => Imaging.Thumbnailer.Create(this, maxSize);

    /// <summary>A decoded tile, cached or fresh; the caller holds a reference and must release it.</summary>
    private CachedTile GetTile(int level, long col, long row)
    {
        var key = new TileKey(_id, level, col, row);
        if (_cache is not null && _cache.TryGet(key, out var cached))
        {
            return cached;
        }
        var lvl = Levels[level];
        var size = lvl.TileWidth * lvl.TileHeight * 4;
        var tile = CachedTile.Rent(size);
        try
        {
            tile.Status = DecodeFresh(level, col, row, tile.Rgba.AsSpan(0, size));
        }
        catch
        {
            tile.Release();
            throw;
        }
        _cache?.Add(key, tile);
        return tile;
    }

    private TileStatus DecodeFresh(int level, long col, long row, Span<byte> rgba)
    {
        var lvl = Levels[level];
        var status = _layout.Levels[level].DecodeTile(col, row, rgba);
        if (status == TileStatus.Blank)
        {
            rgba.Clear();
            return status;
        }
        // Edge tiles: what lies beyond the image is padding in the file; make it transparent, as in regions.
        var validW = (int)Math.Min(lvl.TileWidth, lvl.Width - (col * lvl.TileWidth));
        var validH = (int)Math.Min(lvl.TileHeight, lvl.Height - (row * lvl.TileHeight));
        if (validW < lvl.TileWidth)
        {
            for (var yy = 0; yy < validH; yy++)
            {
                rgba.Slice(((yy * lvl.TileWidth) + validW) * 4, (lvl.TileWidth - validW) * 4).Clear();
            }
        }
        if (validH < lvl.TileHeight)
        {
            rgba[(validH * lvl.TileWidth * 4)..].Clear();
        }
        return status;
    }

    private Level CheckLevel(int level)
    {
        if ((uint)level >= (uint)Levels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"level {level} does not exist ({Levels.Count} levels)");
        }
        return Levels[level];
    }

    private static long CheckedArea(long width, long height)
    {
        if (width <= 0 || height <= 0 || width * height > MaxRegionPixels)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"region size {width}x{height} must be positive and at most {MaxRegionPixels} pixels");
        }
        return width * height;
    }

    private static byte Blend(byte value, byte fill, byte alpha) => (byte)(((value * alpha) + (fill * (255 - alpha)) + 127) / 255);
}
