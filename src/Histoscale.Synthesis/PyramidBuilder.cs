namespace Histoscale.Synthesis;

/// <summary>
/// Streams a 2x box-filtered pyramid from level-0 bands of rows. Each level keeps one band of tile-height
/// rows (memory: about 2 x tile x width x 3 bytes over all levels, whatever the height); when a band fills it
/// is written as a tile row (if that level is a page), offered to an optional full-image capture (for the
/// thumbnail), and pushed down to the next level. Sizes halve with floor, as Aperio's do.
/// </summary>
internal sealed class PyramidBuilder
{
    private readonly Level[] _levels;
    private readonly int _tile;
    private readonly ParallelOptions _parallel;

    /// <param name="sizes">Sizes of levels 1..n (level 0 is the caller's).</param>
    /// <param name="tile">Tile edge in pixels: the height of each level's band.</param>
    /// <param name="threads">Maximum degree of parallelism for the reduction.</param>
    /// <param name="sink">Called with (level, tile row, band, rows) when a band is complete.</param>
    public PyramidBuilder(IReadOnlyList<(int Width, int Height)> sizes, int tile, int threads, Action<int, int, byte[], int> sink)
    {
        _tile = tile;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Sink = sink;
        _levels = new Level[sizes.Count];
        for (var i = 0; i < sizes.Count; i++)
        {
            _levels[i] = new Level(i + 1, sizes[i].Width, sizes[i].Height, new byte[tile * sizes[i].Width * 3]);
        }
    }

    private Action<int, int, byte[], int> Sink { get; }

    /// <summary>Feeds the next band of level-0 rows (tile-height rows except at the bottom).</summary>
    public void Push(byte[] band, int rows, int width) => Push(0, band, rows, width);

    private void Push(int index, byte[] band, int rows, int width)
    {
        if (index >= _levels.Length)
        {
            return;
        }
        var level = _levels[index];
        var outRows = Math.Min(rows / 2, level.Height - level.RowsDone - level.Filled);
        var inStride = width * 3;
        var outStride = level.Width * 3;
        var start = level.Filled;
        Parallel.For(0, outRows, _parallel, r =>
        {
            BoxDownsampler.HalveRow(
                band.AsSpan(2 * r * inStride, inStride),
                band.AsSpan(((2 * r) + 1) * inStride, inStride),
                level.Band.AsSpan((start + r) * outStride, outStride),
                level.Width);
        });
        level.Filled += outRows;
        if (level.Filled == _tile || level.RowsDone + level.Filled == level.Height)
        {
            Sink(level.Index, level.RowsDone / _tile, level.Band, level.Filled);
            var filled = level.Filled;
            level.RowsDone += filled;
            level.Filled = 0;
            Push(index + 1, level.Band, filled, level.Width);
        }
    }

    private sealed class Level(int index, int width, int height, byte[] band)
    {
        public int Index { get; } = index;
        public int Width { get; } = width;
        public int Height { get; } = height;
        public byte[] Band { get; } = band;
        public int Filled { get; set; }
        public int RowsDone { get; set; }
    }
}
