using Histoscale.Slides.Codecs;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.Support;

/// <summary>DICOM WSI series made from a synthesized slide's own tiles, so the DICOM reading must equal the source's.</summary>
public static class DicomTestSeries
{
    public const string SeriesUid = "1.2.826.0.1.3680043.10.1.2";

    /// <summary>Each level's tiles of <paramref name="svs"/> as complete JPEG streams (tables joined, colour space stated), row by row.</summary>
    public static List<(long Width, long Height, int Tile, List<byte[]> Frames)> JpegLevels(string svs)
    {
        using var slide = Slide.Open(svs);
        using var source = new LocalFileSource(svs);
        var tiff = TiffFile.TryOpen(source) ?? throw new InvalidOperationException("not a TIFF");
        var levels = new List<(long, long, int, List<byte[]>)>();
        foreach (var level in slide.Levels)
        {
            var dir = tiff.Directories.First(d => d.IsTiled && d.Width == level.Width && d.Height == level.Height);
            var image = TiffImage.Open(dir, level.Index);
            var tables = dir.GetBytes(TiffTag.JpegTables);
            var photometric = (int)(dir.GetLong(TiffTag.Photometric) ?? TiffPhotometric.YCbCr);
            var frames = new List<byte[]>();
            for (long r = 0; r < image.TilesDown; r++)
            {
                for (long c = 0; c < image.TilesAcross; c++)
                {
                    var range = image.StoredTileRange(c, r)!.Value;
                    var tile = new byte[range.Length];
                    source.Read(range.Offset, tile);
                    var stream = new byte[tile.Length + (tables?.Length ?? 0) + 64];
                    var n = JpegCodec.BuildStream(tile, tables, photometric, stream);
                    frames.Add(stream[..n]);
                }
            }
            levels.Add((level.Width, level.Height, image.TileWidth, frames));
        }
        return levels;
    }

    /// <summary>
    /// Writes the whole series into <paramref name="folder"/>: one TILED_FULL JPEG instance per level of
    /// <paramref name="svs"/> (level 0 optionally as a two-part concatenation), and the label as an uncompressed
    /// LABEL instance. Pixel Spacing differs per axis (row 0.0005 mm, column 0.00025 mm) to pin the order.
    /// </summary>
    public static void WriteJpegSeries(string svs, string folder, bool concatenateLevel0 = false)
    {
        var levels = JpegLevels(svs);
        for (var l = 0; l < levels.Count; l++)
        {
            var (w, h, tile, frames) = levels[l];
            var scale = (double)levels[0].Width / w;
            var baseSpec = new DicomWsiInstance
            {
                SopInstanceUid = $"1.2.826.0.1.3680043.10.1.3.{l + 1}",
                Columns = tile,
                Rows = tile,
                TotalColumns = w,
                TotalRows = h,
                Frames = frames,
                PixelSpacing = (0.0005 * scale, 0.00025 * scale),
                ObjectiveLensPower = 20,
                InstanceNumber = l + 1,
                BasicOffsetTable = l % 2 == 1,
            };
            if (concatenateLevel0 && l == 0)
            {
                var half = frames.Count / 2;
                DicomWsiWriter.Write(Path.Combine(folder, "level0-part1.dcm"), baseSpec with { Frames = frames[..half], ConcatenationFrameOffset = 0, SopInstanceUid = baseSpec.SopInstanceUid + ".1" });
                DicomWsiWriter.Write(Path.Combine(folder, "level0-part2.dcm"), baseSpec with { Frames = frames[half..], ConcatenationFrameOffset = half, SopInstanceUid = baseSpec.SopInstanceUid + ".2", InstanceNumber = 100 });
                continue;
            }
            DicomWsiWriter.Write(Path.Combine(folder, $"level{l}.dcm"), baseSpec);
        }
        using var slide = Slide.Open(svs);
        var label = slide.ReadAssociatedImage("label");
        DicomWsiWriter.Write(Path.Combine(folder, "label.dcm"), new DicomWsiInstance
        {
            SopInstanceUid = "1.2.826.0.1.3680043.10.1.4",
            ImageType = "ORIGINAL\\PRIMARY\\LABEL\\NONE",
            Columns = label.Width,
            Rows = label.Height,
            Photometric = "RGB",
            TransferSyntax = DicomWsiInstance.ExplicitLittle,
            Frames = [DicomWsiWriter.Rgb(label.Pixels)],
            InstanceNumber = 50,
        });
    }
}
