using System.Buffers;
using Histoscale.Inference.Models;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Stitching;
using Histoscale.Pipeline.Tissue;

namespace Histoscale.Pipeline.Outputs;

/// <summary>Where a slide's outputs go: <c>DIR/NAME.tiles.csv</c> and siblings.</summary>
/// <param name="Directory">The run's output folder.</param>
/// <param name="Name">The slide's output name (file name without extension).</param>
public sealed record SlideOutputPaths(string Directory, string Name)
{
    /// <summary>The per-tile table: <c>NAME.tiles.csv</c>.</summary>
    public string Tiles => Path.Combine(Directory, Name + ".tiles.csv");

    /// <summary>Embedding vectors, one row per tile: <c>NAME.embeddings.npy</c>.</summary>
    public string Embeddings => Path.Combine(Directory, Name + ".embeddings.npy");

    /// <summary>The pyramidal heatmap TIFF: <c>NAME.heatmap.tif</c>.</summary>
    public string Heatmap => Path.Combine(Directory, Name + ".heatmap.tif");

    /// <summary>Class regions as GeoJSON in level-0 coordinates: <c>NAME.geojson</c>.</summary>
    public string GeoJson => Path.Combine(Directory, Name + ".geojson");

    /// <summary>Digital Slide Archive (DSA) annotation: <c>NAME.annotation.json</c>.</summary>
    public string Annotation => Path.Combine(Directory, Name + ".annotation.json");
}

/// <summary>What <see cref="SlideOutputWriter.Write"/> wrote: the files, and where the heatmap lies on the slide (null without one).</summary>
internal sealed record SlideOutputs(IReadOnlyList<string> Files, HeatmapRegistration? Heatmap);

/// <summary>
/// Turns a slide's complete checkpoint into its outputs, in one sequential pass over the results file (so the
/// outputs depend only on the results, never on how batches were scheduled or resumed): the tile table (and
/// embeddings table), the stitched map, then heatmap, GeoJSON and DSA annotation. Each file is written atomically.
/// Embedding models get the tables only: their vectors have no map to draw.
/// </summary>
internal static class SlideOutputWriter
{
    /// <summary>
    /// Writes the outputs; <paramref name="slideMppX"/> and <paramref name="slideMppY"/> are the slide's µm per level-0
    /// pixel (null when it gives none), for the heatmap's resolution tags.
    /// </summary>
    public static SlideOutputs Write(SlideOutputPaths paths, TilePlan plan, ModelIo io, TissueMask? tissue, string resultsPath,
        double threshold, double? slideMppX, double? slideMppY, string modelLabel, byte[]? exclusions = null)
    {
        var written = new List<string>();
        var map = io.Kind == OutputKind.Embedding ? null : new ScoreMap(plan, io);
        void Tables(NpyWriter? npy) => AtomicFile.Write(paths.Tiles, csv =>
        {
            var table = new TileTableWriter(csv, plan, io, exclusions);
            // Rows go to the table a block at a time, so their formatting can spread over the cores.
            var perTile = io.ValuesPerTile;
            var blockTiles = Math.Max(1, TableBlockValues / perTile);
            var tiles = new int[blockTiles];
            var block = ArrayPool<float>.Shared.Rent(blockTiles * perTile);
            try
            {
                var n = 0;
                foreach (var (index, values) in ResultsFile.ReadTiles(resultsPath, perTile))
                {
                    var tile = plan.Tiles[index];
                    // An unreadable tile's row is its stored NaNs in the vectors (row i stays CSV row i), and nothing in the map.
                    npy?.WriteRow(values);
                    if (!ResultsFile.IsUnreadable(values.AsSpan(0, perTile)) && !ResultsFile.IsExcluded(values.AsSpan(0, perTile)))
                    {
                        map?.Add(tile, values);
                    }
                    tiles[n] = index;
                    values.AsSpan(0, perTile).CopyTo(block.AsSpan(n * perTile));
                    if (++n == blockTiles)
                    {
                        table.WriteRows(tiles, block.AsMemory(0, n * perTile));
                        n = 0;
                    }
                }
                table.WriteRows(tiles.AsMemory(0, n), block.AsMemory(0, n * perTile));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(block);
            }
        });
        if (io.Kind == OutputKind.Embedding)
        {
            AtomicFile.Write(paths.Embeddings, stream => Tables(new NpyWriter(stream, plan.Tiles.Count, io.ValuesPerTile)));
            written.Add(paths.Embeddings);
        }
        else
        {
            Tables(null);
        }
        written.Insert(0, paths.Tiles);
        if (map is null)
        {
            return new SlideOutputs(written, null);
        }

        var (values, foreground) = map.Finish(tissue);
        var columns = TileTableWriter.Columns(io);
        var palette = new ClassPalette([.. columns.Take(map.Channels)], io.Model.Parameters.ClassColors);
        var (rgba, legend) = HeatmapRenderer.Render(values, foreground, map.Width, map.Height, map.Channels, palette);
        // Blocks of k×k pixels per cell (≈16 level-0 px each) give viewers a heatmap with a real pyramid and crisp
        // cell edges, instead of a few dozen pixels stretched by interpolation.
        var k = (int)Math.Clamp(Math.Floor(map.CellLevel0 / 16), 1, Math.Max(1, MaxHeatmapSide / Math.Max(map.Width, map.Height)));
        // The last column and row of cells reach past the slide's edge; the heatmap keeps only the pixels that overlap
        // the slide, so its extent is the slide's (within a pixel) and viewers that stretch it over the slide's bounds
        // place it right.
        var registration = HeatmapRegistration.Cover(plan.SlideWidth, plan.SlideHeight, map.CellLevel0 / k, map.Width * k, map.Height * k, slideMppX, slideMppY);
        // The heatmap file and the vector outputs only read the finished map: write them side by side.
        var heatmap = Task.Run(() =>
            HeatmapTiffWriter.Write(paths.Heatmap, Paint(rgba, map.Width, k, registration.Width, registration.Height), registration, legend));
        try
        {
            var regions = ClassRegions.Build(values, foreground, map.Width, map.Height, map.Channels, palette, threshold, map.CellLevel0, plan.SlideWidth, plan.SlideHeight);
            GeoJsonWriter.Write(paths.GeoJson, regions);
            DsaAnnotationWriter.Write(paths.Annotation, $"{paths.Name} — {modelLabel}",
                $"Histoscale: {modelLabel}; regions where a class ≥ {threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}; heatmap cell {map.CellLevel0:0.##} px",
                regions, values, foreground, map.Width, map.Height, map.Channels, palette, map.CellLevel0, registration);
        }
        finally
        {
            // Never leave the heatmap task running past this call, even when the vector outputs failed.
            heatmap.GetAwaiter().GetResult();
        }
        written.AddRange([paths.Heatmap, paths.GeoJson, paths.Annotation]);
        return new SlideOutputs(written, registration);
    }

    /// <summary>Output values per block of tile-table rows: big enough to split across cores, small next to the checkpoint.</summary>
    private const int TableBlockValues = 1 << 20;

    /// <summary>Longest heatmap side the block enlargement may reach.</summary>
    public const int MaxHeatmapSide = 16384;

    /// <summary>
    /// The heatmap's pixels: each map cell (<paramref name="mapWidth"/> per row) as a k×k block, cut at
    /// <paramref name="width"/> × <paramref name="height"/> pixels (at most the map's k·size; the map itself when equal).
    /// </summary>
    private static byte[] Paint(byte[] rgba, int mapWidth, int k, int width, int height)
    {
        if (k == 1 && width == mapWidth && (long)width * height * 4 == rgba.LongLength)
        {
            return rgba;
        }
        var stride = width * 4;
        var result = new byte[(long)stride * height];
        for (var y = 0; y < height; y++)
        {
            var row = result.AsSpan(y * stride, stride);
            if (y % k != 0)
            {
                // Rows within a block repeat its first.
                result.AsSpan((y - 1) * stride, stride).CopyTo(row);
                continue;
            }
            var cells = rgba.AsSpan(y / k * mapWidth * 4, mapWidth * 4);
            for (var x = 0; x < width; x++)
            {
                cells.Slice(x / k * 4, 4).CopyTo(row[(x * 4)..]);
            }
        }
        return result;
    }
}
