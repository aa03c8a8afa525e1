using System.Buffers;
using Histoscale.Pipeline.Planning;
using Histoscale.Slides;
using Histoscale.Slides.Caching;

namespace Histoscale.Pipeline.Reading;

/// <summary>
/// Reads a plan's tiles as TileSize² RGBA (straight alpha; outside the slide transparent, which the packer paints
/// white). Three paths, fastest first: a tile aligned with the slide's own grid decodes straight into the buffer
/// (<see cref="Slide.ReadTile(int, long, long, Span{byte}, bool)"/>, no cache, no copy); an unaligned tile at a matching level is assembled by
/// <see cref="Slide.ReadLevelRegion"/> (the slide's tile cache turns neighbours' shared tiles into hits);
/// otherwise the footprint is read and resampled. Thread-safe; each worker passes its own <see cref="Scratch"/>.
/// </summary>
internal sealed class PlanTileReader(Slide slide, TilePlan plan) : IDisposable
{
    public int TileBytes => plan.TileSize * plan.TileSize * 4;

    public Slide Slide => slide;

    /// <summary>Per-worker buffers for the resampling path.</summary>
    public sealed class Scratch : IDisposable
    {
        internal AreaResampler Resampler { get; } = new();

        internal byte[] Region { get; set; } = [];

        public void Dispose()
        {
            if (Region.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Region);
                Region = [];
            }
        }
    }

    /// <summary>
    /// The rectangle of level pixels <see cref="Read"/> reads for a tile (before clipping to the level). The one
    /// definition of a tile's footprint at its level, shared with the prefetcher.
    /// </summary>
    public (long X, long Y, int Width, int Height) SourceRect(PlannedTile tile)
    {
        var size = plan.TileSize;
        var stride = plan.Stride;
        if (!plan.Resampled)
        {
            return ((long)tile.Column * stride, (long)tile.Row * stride, size, size);
        }
        var s = plan.Scale;
        var ox = tile.Column * stride * s;
        var oy = tile.Row * stride * s;
        var x0 = (long)Math.Floor(ox);
        var y0 = (long)Math.Floor(oy);
        // One extra pixel each side so bilinear taps and partial coverage never read outside the region.
        return (x0, y0, (int)(Math.Ceiling(ox + (size * s)) - x0) + 2, (int)(Math.Ceiling(oy + (size * s)) - y0) + 2);
    }

    private readonly bool _planar = !plan.Resampled && slide.CanReadTilesPlanar(plan.Level);
    private TileCache? _planes;

    /// <summary>Hands the plane cache's buffers back to the pool (they would otherwise wait for the GC).</summary>
    public void Dispose() => _planes?.Resize(0);

    /// <summary>Whether <see cref="TryReadPlanar"/> can succeed at all for this plan (tiles read at a level's own scale, a codec that writes planes).</summary>
    public bool CanReadPlanar => _planar;

    /// <summary>
    /// Reads a tile as opaque R, G, B planes (TileSize² bytes each) without an RGBA image: an aligned tile is the
    /// slide's tile decoded straight into the planes; an unaligned one is assembled from row pieces of the slide
    /// tiles it overlaps, which are decoded to planes once and kept in a small cache of their own (neighbouring
    /// plan tiles share them). False when some part cannot be (edge of the level, blank or non-JPEG tiles, a
    /// resampled plan) — use <see cref="Read"/> then.
    /// </summary>
    public bool TryReadPlanar(PlannedTile tile, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        if (!_planar)
        {
            return false;
        }
        if (plan.AlignedWithSlideTiles)
        {
            return slide.TryReadTilePlanar(plan.Level, tile.Column, tile.Row, red, green, blue);
        }
        if (_planes is null)
        {
            Interlocked.CompareExchange(ref _planes, new TileCache(WorkingSetBytes(slide, plan, bytesPerPixel: 3, 16L << 20, 256L << 20)), null);
        }
        return TryAssemblePlanar(tile, red, green, blue);
    }

    private bool TryAssemblePlanar(PlannedTile tile, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        var level = slide.Levels[plan.Level];
        var (x0, y0, width, height) = SourceRect(tile);
        if (x0 < 0 || y0 < 0 || x0 + width > level.Width || y0 + height > level.Height)
        {
            return false; // partly outside the level: transparent there, which planes cannot say
        }
        int tw = level.TileWidth, th = level.TileHeight;
        var plane = tw * th;
        for (var row = y0 / th; row * th < y0 + height; row++)
        {
            for (var col = x0 / tw; col * tw < x0 + width; col++)
            {
                var stored = PlanarTile(col, row, plane);
                if (stored is null)
                {
                    return false;
                }
                try
                {
                    // The overlap of this slide tile and the plan tile, in plan-tile coordinates.
                    var sx = (int)Math.Max(0, x0 - (col * tw));
                    var sy = (int)Math.Max(0, y0 - (row * th));
                    var dx = (int)Math.Max(0, (col * tw) - x0);
                    var dy = (int)Math.Max(0, (row * th) - y0);
                    var w = Math.Min(tw - sx, width - dx);
                    var h = Math.Min(th - sy, height - dy);
                    var source = stored.Rgba;
                    for (var y = 0; y < h; y++)
                    {
                        var from = ((sy + y) * tw) + sx;
                        var to = ((dy + y) * width) + dx;
                        source.AsSpan(from, w).CopyTo(red.Slice(to, w));
                        source.AsSpan(plane + from, w).CopyTo(green.Slice(to, w));
                        source.AsSpan((2 * plane) + from, w).CopyTo(blue.Slice(to, w));
                    }
                }
                finally
                {
                    stored.Release();
                }
            }
        }
        return true;
    }

    /// <summary>Slide tile (col,row) of the plan's level as three planes, cached; null when it cannot be decoded to planes.</summary>
    private CachedTile? PlanarTile(long col, long row, int plane)
    {
        var key = new TileKey(0, plan.Level, col, row);
        if (_planes!.TryGet(key, out var cached))
        {
            return cached.Status == TileStatus.Decoded ? cached : Declined(cached);
        }
        // Workers on neighbouring plan tiles miss on the same new slide tile at the same moment; a lock per key
        // stripe makes the second wait for the first's decode instead of repeating it.
        lock (_decodeLocks[(int)((ulong)((col * 31) + row) % (ulong)_decodeLocks.Length)])
        {
            return _planes.TryGet(key, out cached) ? (cached.Status == TileStatus.Decoded ? cached : Declined(cached)) : DecodePlanar(key, col, row, plane);
        }

        static CachedTile? Declined(CachedTile t)
        {
            t.Release();
            return null;
        }
    }

    private readonly object[] _decodeLocks = [.. Enumerable.Range(0, 64).Select(_ => new object())];

    private CachedTile? DecodePlanar(TileKey key, long col, long row, int plane)
    {
        var tile = CachedTile.Rent(3 * plane);
        try
        {
            var buffer = tile.Rgba.AsSpan(0, 3 * plane);
            var decoded = slide.TryReadTilePlanar(plan.Level, col, row, buffer[..plane], buffer.Slice(plane, plane), buffer.Slice(2 * plane, plane), includePadding: true);
            if (!decoded)
            {
                // Remember the decline with an empty marker (no buffer held), so neighbours do not retry the decode.
                tile.Release();
                _planes!.Add(key, new CachedTile([], TileStatus.Blank));
                return null;
            }
            _planes!.Add(key, tile);
            return tile;
        }
        catch
        {
            tile.Release();
            throw;
        }
    }

    /// <summary>
    /// A tile cache's budget for reading this plan: neighbouring plan tiles share slide tiles, read moments apart in
    /// raster order, so the slide-tile rows one plan row's footprint spans, plus slack for workers at a row boundary,
    /// make nearly every shared tile a hit. A bigger cache only costs memory to fill (every new buffer is a fresh
    /// page to fault in); capped so huge slides stay bounded (they re-decode a little more).
    /// </summary>
    internal static long WorkingSetBytes(Slide slide, TilePlan plan, int bytesPerPixel, long minBytes, long maxBytes)
    {
        var level = slide.Levels[plan.Level];
        // As SourceRect: resampled footprints take the scaled size plus the resampler's extra pixels.
        var footprint = plan.Resampled ? Math.Ceiling(plan.TileSize * plan.Scale) + 3 : plan.TileSize;
        var rows = (long)Math.Ceiling(footprint / level.TileHeight) + 2;
        var tileBytes = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(bytesPerPixel * level.TileWidth * level.TileHeight));
        return Math.Clamp(rows * level.TilesAcross * tileBytes, minBytes, maxBytes);
    }

    public void Read(PlannedTile tile, Span<byte> rgba, Scratch scratch)
    {
        if (plan.AlignedWithSlideTiles)
        {
            slide.ReadTile(plan.Level, tile.Column, tile.Row, rgba);
            return;
        }
        var (x0, y0, width, height) = SourceRect(tile);
        if (!plan.Resampled)
        {
            slide.ReadLevelRegion(plan.Level, x0, y0, width, height, rgba);
            return;
        }
        var bytes = width * height * 4;
        if (scratch.Region.Length < bytes)
        {
            scratch.Dispose();
            scratch.Region = ArrayPool<byte>.Shared.Rent(bytes);
        }
        var region = scratch.Region.AsSpan(0, bytes);
        slide.ReadLevelRegion(plan.Level, x0, y0, width, height, region);
        CompositeOverWhite(region);
        scratch.Resampler.Resample(region, width, height, (tile.Column * plan.Stride * plan.Scale) - x0, (tile.Row * plan.Stride * plan.Scale) - y0, plan.Scale, rgba, plan.TileSize);
    }

    /// <summary>Paints transparent and translucent pixels over white, in place (edges of the slide become white).</summary>
    public static void CompositeOverWhite(Span<byte> rgba)
    {
        for (var p = 3; p < rgba.Length; p += 4)
        {
            var a = rgba[p];
            if (a == 255)
            {
                continue;
            }
            for (var c = p - 3; c < p; c++)
            {
                rgba[c] = (byte)(((rgba[c] * a) + (255 * (255 - a)) + 127) / 255);
            }
            rgba[p] = 255;
        }
    }
}
