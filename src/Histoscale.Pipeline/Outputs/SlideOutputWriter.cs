using Histoscale.Inference.Models;
using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Stitching;
using Histoscale.Pipeline.Tissue;

namespace Histoscale.Pipeline.Outputs;

/// <summary>Where a slide's outputs go: <c>DIR/NAME.tiles.csv</c> and siblings.</summary>
public sealed record SlideOutputPaths(string Directory, string Name)
{
    public string Tiles => Path.Combine(Directory, Name + ".tiles.csv");

    public string Embeddings => Path.Combine(Directory, Name + ".embeddings.npy");

    public string Heatmap => Path.Combine(Directory, Name + ".heatmap.tif");

    public string GeoJson => Path.Combine(Directory, Name + ".geojson");

    public string Annotation => Path.Combine(Directory, Name + ".annotation.json");
}

/// <summary>
/// Turns a slide's complete checkpoint into its outputs, in one sequential pass over the results file (so the
/// outputs depend only on the results, never on how batches were scheduled or resumed): the tile table (and
/// embeddings table), the stitched map, then heatmap, GeoJSON and DSA annotation. Each file is written atomically.
/// Embedding models get the tables only: their vectors have no map to draw.
/// </summary>
public static class SlideOutputWriter
{
    public static IReadOnlyList<string> Write(SlideOutputPaths paths, TilePlan plan, ModelIo io, TissueMask? tissue, string resultsPath,
        double threshold, double? slideMpp, string modelLabel)
    {
        var written = new List<string>();
        var map = io.Kind == OutputKind.Embedding ? null : new ScoreMap(plan, io);
        void Tables(NpyWriter? npy) => AtomicFile.WriteText(paths.Tiles, csv =>
        {
            var table = new TileTableWriter(csv, plan, io);
            foreach (var (index, values) in ResultsFile.ReadTiles(resultsPath, io.ValuesPerTile))
            {
                var tile = plan.Tiles[index];
                table.WriteRow(tile, values);
                npy?.WriteRow(values);
                map?.Add(tile, values);
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
            return written;
        }

        var (values, foreground) = map.Finish(tissue);
        var columns = TileTableWriter.Columns(io);
        var palette = new ClassPalette([.. columns.Take(map.Channels)], io.Model.Parameters.ClassColors);
        var (rgba, legend) = HeatmapRenderer.Render(values, foreground, map.Width, map.Height, map.Channels, palette);
        HeatmapTiffWriter.Write(paths.Heatmap, rgba, map.Width, map.Height, slideMpp is { } m ? m * map.CellLevel0 : null, legend);
        var regions = ClassRegions.Build(values, foreground, map.Width, map.Height, map.Channels, palette, threshold, map.CellLevel0, plan.SlideWidth, plan.SlideHeight);
        GeoJsonWriter.Write(paths.GeoJson, regions);
        DsaAnnotationWriter.Write(paths.Annotation, $"{paths.Name} — {modelLabel}",
            $"Histoscale: {modelLabel}; regions where a class ≥ {threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}; heatmap cell {map.CellLevel0:0.##} px",
            regions, values, foreground, map.Width, map.Height, map.Channels, palette, map.CellLevel0);
        written.AddRange([paths.Heatmap, paths.GeoJson, paths.Annotation]);
        return written;
    }
}
