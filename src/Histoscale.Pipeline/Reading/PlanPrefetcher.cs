using Histoscale.Pipeline.Planning;

namespace Histoscale.Pipeline.Reading;

/// <summary>
/// Tells the slide's byte source which stored tiles the plan will read next, so a remote source (object storage)
/// fetches them ahead, coalesced and concurrently, while the decoders work. The pipeline knows its future; the
/// storage layer cannot guess it. On sources that cannot prefetch (local files) it switches itself off. Plan tiles
/// quality control excludes (<paramref name="exclusions"/> non-zero) are never read, so never hinted.
/// </summary>
internal sealed class PlanPrefetcher(PlanTileReader reader, TilePlan plan, byte[]? exclusions = null)
{
    /// <summary>How far ahead of the decoders to hint, in plan tiles, and how many tiles one hint covers.</summary>
    public const int Lead = 512;
    public const int Chunk = 64;

    private volatile bool _disabled;

    /// <summary>
    /// Called once per plan tile as a decoder claims it (each index is claimed exactly once): the first claimed tile
    /// hints the whole lead-in, and every <see cref="Chunk"/>-th tile hints the chunk <see cref="Lead"/> tiles ahead.
    /// </summary>
    public void OnClaim(int index, int start, int end)
    {
        if (_disabled)
        {
            return;
        }
        if (index == start)
        {
            Hint(start, Math.Min(end, start + Lead + Chunk));
        }
        else if (index % Chunk == 0 && index + Lead < end)
        {
            Hint(index + Lead, Math.Min(end, index + Lead + Chunk));
        }
    }

    private void Hint(int from, int to)
    {
        var level = reader.Slide.Levels[plan.Level];
        var tiles = new HashSet<(long, long)>();
        for (var i = from; i < to; i++)
        {
            if (exclusions is not null && exclusions[i] != 0)
            {
                continue;
            }
            var (x, y, width, height) = reader.SourceRect(plan.Tiles[i]);
            var x0 = Math.Max(0, x);
            var y0 = Math.Max(0, y);
            var x1 = Math.Min(level.Width, x + width) - 1; // last pixel read, inclusive
            var y1 = Math.Min(level.Height, y + height) - 1;
            for (var row = y0 / level.TileHeight; row <= y1 / level.TileHeight; row++)
            {
                for (var col = x0 / level.TileWidth; col <= x1 / level.TileWidth; col++)
                {
                    tiles.Add((col, row));
                }
            }
        }
        if (tiles.Count > 0 && !reader.Slide.PrefetchTiles(plan.Level, tiles))
        {
            _disabled = true;
        }
    }
}
