using System.Buffers;
using Histoscale.Pipeline.Planning;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Reading;

/// <summary>
/// Reads a plan's tiles as TileSize² RGBA (straight alpha; outside the slide transparent, which the packer paints
/// white). Three paths, fastest first: a tile aligned with the slide's own grid decodes straight into the buffer
/// (<see cref="Slide.ReadTile"/>, no cache, no copy); an unaligned tile at a matching level is assembled by
/// <see cref="Slide.ReadLevelRegion"/> (the slide's tile cache turns neighbours' shared tiles into hits);
/// otherwise the footprint is read and resampled. Thread-safe; each worker passes its own <see cref="Scratch"/>.
/// </summary>
public sealed class PlanTileReader(Slide slide, TilePlan plan)
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

    /// <summary>Whether <see cref="TryReadPlanar"/> can succeed at all for this plan (grid aligned with the slide's tiles).</summary>
    public bool CanReadPlanar => plan.AlignedWithSlideTiles;

    /// <summary>
    /// Reads a tile as opaque R, G, B planes (TileSize² bytes each) when the plan is aligned with the slide's tiles
    /// and the slide can decode the tile straight to planes; false otherwise — use <see cref="Read"/> then.
    /// </summary>
    public bool TryReadPlanar(PlannedTile tile, Span<byte> red, Span<byte> green, Span<byte> blue) =>
        plan.AlignedWithSlideTiles && slide.TryReadTilePlanar(plan.Level, tile.Column, tile.Row, red, green, blue);

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
