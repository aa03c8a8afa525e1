using System.Buffers;
using System.Diagnostics;
using Histoscale.Slides.Tiff;
using Histoscale.Slides.Writing;

namespace Histoscale.Synthesis;

/// <summary>
/// Writes a synthetic H&amp;E whole-slide image. Level 0 is rendered one tile row at a time (tiles rendered and
/// compressed in parallel, written left to right), reduced levels are streamed from it by 2x box filtering,
/// so memory stays at a few bands of rows however large the slide.
/// </summary>
public static class SlideSynthesizer
{
    /// <summary>Writes the slide described by <paramref name="options"/> to <paramref name="path"/> and reports what was written.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> has invalid values.</exception>
    public static SynthResult Write(string path, SynthOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var plan = new SynthPlan(options);
        var tissue = new SyntheticTissue(options.Width, options.Height, options.Seed, options.HaematoxylinOd, options.EosinOd);
        var painter = options.Artifacts.Count > 0 ? new ArtifactRenderer(tissue, options.Artifacts) : null;
        var tile = options.TileSize;
        using var writer = TiffWriter.Create(path, new TiffWriterOptions { Format = options.Format, MaxDegreeOfParallelism = options.MaxDegreeOfParallelism });

        // Pages are added in IFD order up front; their data arrives later, in whatever order it is produced.
        var pages = new Dictionary<int, TiffPageWriter>();
        TiffPageWriter? thumbnail = null, label = null, macro = null;
        pages[0] = writer.AddPage(plan.LevelPage(0));
        if (options.Layout == SynthLayout.Svs)
        {
            thumbnail = writer.AddPage(plan.ThumbnailPage());
        }
        foreach (var level in plan.WrittenLevels.Skip(1))
        {
            pages[level] = options.Layout == SynthLayout.SubIfd ? pages[0].AddSubIfd(plan.LevelPage(level)) : writer.AddPage(plan.LevelPage(level));
        }
        if (options.Layout == SynthLayout.Svs)
        {
            label = writer.AddPage(plan.LabelPage());
            macro = writer.AddPage(plan.MacroPage());
        }

        byte[]? capture = null;
        var captureSize = plan.CaptureLevel >= 0 ? plan.Chain[plan.CaptureLevel] : (0, 0);
        if (plan.CaptureLevel >= 0)
        {
            capture = new byte[captureSize.Item1 * captureSize.Item2 * 3];
        }
        void Sink(int level, int tileRow, byte[] band, int rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var width = plan.Chain[level].Width;
            if (pages.TryGetValue(level, out var page) && level > 0)
            {
                page.WriteTileRow(tileRow, band, width * 3);
            }
            if (level == plan.CaptureLevel)
            {
                band.AsSpan(0, rows * width * 3).CopyTo(capture.AsSpan(tileRow * tile * width * 3));
            }
        }
        var pyramid = new PyramidBuilder(plan.Chain.Skip(1).ToList(), tile, options.MaxDegreeOfParallelism, Sink);

        var band0 = new byte[tile * options.Width * 3];
        var level0 = pages[0];
        var chunks = new EncodedChunk[level0.TilesAcross];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        for (var row = 0; row < level0.TilesDown; row++)
        {
            var rows = Math.Min(tile, options.Height - (row * tile));
            Parallel.For(0, level0.TilesAcross, parallel, col =>
            {
                var pixels = ArrayPool<byte>.Shared.Rent(level0.TileBytes);
                try
                {
                    var x0 = col * tile;
                    if (painter is null)
                    {
                        tissue.Render(x0, row * tile, tile, tile, pixels, tile * 3);
                    }
                    else
                    {
                        painter.Render(x0, row * tile, tile, tile, pixels, tile * 3);
                    }
                    var used = Math.Min(tile, options.Width - x0) * 3;
                    for (var y = 0; y < rows; y++)
                    {
                        pixels.AsSpan(y * tile * 3, used).CopyTo(band0.AsSpan(((y * options.Width) + x0) * 3));
                    }
                    chunks[col] = level0.EncodeTile(pixels.AsSpan(0, level0.TileBytes));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(pixels);
                }
            });
            for (var col = 0; col < chunks.Length; col++)
            {
                level0.WriteEncodedTile(col, row, chunks[col].Span);
                chunks[col].Dispose();
            }
            Sink(0, row, band0, rows);
            pyramid.Push(band0, rows, options.Width);
        }

        if (thumbnail is not null && capture is not null && label is not null && macro is not null)
        {
            var (tw, th) = plan.ThumbnailSize;
            var thumb = captureSize == (tw, th) ? capture : AssociatedImages.Resize(capture, captureSize.Item1, captureSize.Item2, tw, th);
            WriteStrips(thumbnail, thumb);
            var labelPixels = AssociatedImages.Label(SynthPlan.LabelWidth, SynthPlan.LabelHeight, (uint)options.Seed);
            WriteStrips(label, labelPixels);
            WriteStrips(macro, AssociatedImages.Macro(SynthPlan.MacroWidth, SynthPlan.MacroHeight, thumb, tw, th, labelPixels, SynthPlan.LabelWidth, SynthPlan.LabelHeight, (uint)options.Seed));
        }
        writer.Finish();
        var levels = plan.WrittenLevels.Select(i => plan.Chain[i]).ToList();
        return new SynthResult(levels, writer.Length, writer.IsBigTiff, clock.Elapsed);
    }

    private static void WriteStrips(TiffPageWriter page, byte[] rgb)
    {
        var stripBytes = page.RowsPerStrip * page.Options.Width * 3;
        for (var s = 0; s < page.StripCount; s++)
        {
            page.WriteStrip(s, rgb.AsSpan(s * stripBytes));
        }
    }
}
