using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>
/// DICOM whole-slide series (Supplement 145) written in-project from a synthesized slide's own JPEG tiles and
/// pixels: whatever the encoding (JPEG frames, offset tables, fragments, native explicit/implicit VR, sparse
/// tiles, concatenations), the DICOM reading must equal the source slide's, pixel for pixel.
/// </summary>
public sealed class DicomFormatTests
{
    /// <summary>A small Aperio-layout source: three levels, label and macro.</summary>
    internal static string Source => TestSlides.Get("dicom-source.svs", new SynthOptions { Width = 1100, Height = 700, TileSize = 128, Layout = SynthLayout.Svs, Seed = 21 });

    internal static void AssertLevelsEqual(Slide expected, Slide actual)
    {
        Assert.Equal(expected.Levels.Count, actual.Levels.Count);
        for (var l = 0; l < expected.Levels.Count; l++)
        {
            var lv = expected.Levels[l];
            Assert.Equal((lv.Width, lv.Height, lv.TileWidth, lv.TileHeight), (actual.Levels[l].Width, actual.Levels[l].Height, actual.Levels[l].TileWidth, actual.Levels[l].TileHeight));
            var a = expected.ReadRegion(l, 0, 0, (int)lv.Width, (int)lv.Height);
            var b = actual.ReadRegion(l, 0, 0, (int)lv.Width, (int)lv.Height);
            Assert.True(a.Pixels.AsSpan().SequenceEqual(b.Pixels), $"level {l} pixels differ");
        }
    }

    [Fact]
    public void JpegSeriesFromAFolderOrOneInstanceEqualsTheSourceSlide()
    {
        using var dir = new TempDir();
        DicomTestSeries.WriteJpegSeries(Source, dir.Path);
        File.WriteAllText(dir.File("notes.txt"), "not DICOM"); // other files in the folder are ignored
        using var svs = Slide.Open(Source);
        foreach (var path in new[] { dir.Path, dir.File("level1.dcm") })
        {
            using var dicom = Slide.Open(path);
            Assert.Equal("dicom", dicom.Format);
            AssertLevelsEqual(svs, dicom);
            // Pixel Spacing is row (vertical) spacing first: 0.0005 mm rows, 0.00025 mm columns.
            Assert.Equal(0.25, dicom.MppX!.Value, 9);
            Assert.Equal(0.5, dicom.MppY!.Value, 9);
            Assert.Equal(20, dicom.ObjectivePower);
            Assert.Equal("dicom", dicom.Properties["openslide.vendor"]);
            Assert.Equal("0.25", dicom.Properties["openslide.mpp-x"]);
            Assert.Equal(DicomTestSeries.SeriesUid, dicom.Properties["dicom.SeriesInstanceUID"]);
            Assert.Equal("1.2.840.10008.1.2.4.50", dicom.Properties["dicom.TransferSyntaxUID"]);
            Assert.Equal("TILED_FULL", dicom.Properties["dicom.DimensionOrganizationType"]);
            Assert.Equal(["label"], dicom.AssociatedImages.Keys);
            Assert.Equal(svs.ReadAssociatedImage("label").Pixels, dicom.ReadAssociatedImage("label").Pixels);
            Assert.Equal(svs.GetThumbnail(128).Pixels, dicom.GetThumbnail(128).Pixels);
        }
    }

    [Fact]
    public void ConcatenatedLevelAndOtherSeriesInTheFolder()
    {
        using var dir = new TempDir();
        DicomTestSeries.WriteJpegSeries(Source, dir.Path, concatenateLevel0: true);
        // An instance of another series in the same folder is not part of this slide.
        var other = DicomTestSeries.JpegLevels(Source)[^1];
        DicomWsiWriter.Write(dir.File("zz-other-series.dcm"), new DicomWsiInstance
        {
            SeriesUid = "1.2.826.0.1.3680043.10.9.9",
            SopInstanceUid = "1.2.826.0.1.3680043.10.9.9.1",
            Columns = other.Tile,
            Rows = other.Tile,
            TotalColumns = other.Width * 4,
            TotalRows = other.Height * 4,
            Frames = other.Frames,
            NumberOfFrames = other.Frames.Count,
        });
        using var svs = Slide.Open(Source);
        using var dicom = Slide.Open(dir.File("level0-part2.dcm"));
        AssertLevelsEqual(svs, dicom);
    }

    [Theory]
    [InlineData("bot-fragments")]
    [InlineData("eot-fragments")]
    [InlineData("defined-length-sequences")]
    public void OffsetTablesFragmentsAndSequenceEncodingsReadTheSame(string variant)
    {
        using var dir = new TempDir();
        var levels = DicomTestSeries.JpegLevels(Source);
        for (var l = 0; l < levels.Count; l++)
        {
            var (w, h, tile, frames) = levels[l];
            DicomWsiWriter.Write(dir.File($"l{l}.dcm"), new DicomWsiInstance
            {
                SopInstanceUid = $"1.2.3.{l}",
                Columns = tile,
                Rows = tile,
                TotalColumns = w,
                TotalRows = h,
                Frames = frames,
                FragmentsPerFrame = variant == "defined-length-sequences" ? 1 : 3,
                BasicOffsetTable = variant == "bot-fragments",
                ExtendedOffsetTable = variant == "eot-fragments",
                UndefinedLengthSequences = variant != "defined-length-sequences",
                PixelSpacing = (0.001, 0.001),
            });
        }
        using var svs = Slide.Open(Source);
        using var dicom = Slide.Open(dir.Path);
        AssertLevelsEqual(svs, dicom);
        Assert.Equal(1.0, dicom.MppX!.Value, 9);
    }

    [Fact]
    public void UncompressedExplicitAndImplicitVrLevelsEqualTheSource()
    {
        using var dir = new TempDir();
        using var svs = Slide.Open(Source);
        for (var l = 0; l < svs.Levels.Count; l++)
        {
            const int tile = 96; // not the source's tile size: the grid is the DICOM file's own
            DicomWsiWriter.Write(dir.File($"raw{l}.dcm"), new DicomWsiInstance
            {
                SopInstanceUid = $"1.2.4.{l}",
                Columns = tile,
                Rows = tile,
                TotalColumns = svs.Levels[l].Width,
                TotalRows = svs.Levels[l].Height,
                Photometric = "RGB",
                TransferSyntax = l % 2 == 0 ? DicomWsiInstance.ImplicitLittle : DicomWsiInstance.ExplicitLittle,
                Frames = DicomWsiWriter.RawFrames(svs, l, tile),
                PixelSpacing = (0.0005, 0.0005),
            });
        }
        using var dicom = Slide.Open(dir.File("raw0.dcm"));
        Assert.Equal(96, dicom.Levels[0].TileWidth);
        for (var l = 0; l < svs.Levels.Count; l++)
        {
            var lv = svs.Levels[l];
            Assert.Equal(svs.ReadRegion(l, 0, 0, (int)lv.Width, (int)lv.Height).Pixels, dicom.ReadRegion(l, 0, 0, (int)lv.Width, (int)lv.Height).Pixels);
        }
        Assert.Equal("1.2.840.10008.1.2", dicom.Properties["dicom.TransferSyntaxUID"]);
    }

    [Fact]
    public void TiledSparseMissingTilesAreTransparent()
    {
        using var dir = new TempDir();
        var (w, h, tile, frames) = DicomTestSeries.JpegLevels(Source)[0];
        var across = (int)((w + tile - 1) / tile);
        var kept = Enumerable.Range(0, frames.Count).Where(i => i % 3 != 1).Reverse().ToList(); // sparse and out of order
        DicomWsiWriter.Write(dir.File("sparse.dcm"), new DicomWsiInstance
        {
            SopInstanceUid = "1.2.5.1",
            Columns = tile,
            Rows = tile,
            TotalColumns = w,
            TotalRows = h,
            Organization = "TILED_SPARSE",
            Frames = [.. kept.Select(i => frames[i])],
            Positions = [.. kept.Select(i => ((long)(i % across * tile) + 1, (long)(i / across * tile) + 1))],
        });
        using var svs = Slide.Open(Source);
        using var dicom = Slide.Open(dir.File("sparse.dcm"));
        var rgba = new byte[tile * tile * 4];
        var expected = new byte[tile * tile * 4];
        for (var i = 0; i < frames.Count; i++)
        {
            var status = dicom.ReadTile(0, i % across, i / across, rgba);
            if (i % 3 == 1)
            {
                Assert.Equal(TileStatus.Blank, status);
                var region = dicom.ReadRegion(0, i % across * tile, i / across * tile, 8, 8);
                Assert.All(region.Pixels, b => Assert.Equal(0, b)); // transparent, as OpenSlide renders missing tiles
            }
            else
            {
                Assert.Equal(TileStatus.Decoded, status);
                svs.ReadTile(0, i % across, i / across, expected);
                Assert.Equal(expected, rgba);
            }
        }
    }

    [Fact]
    public void SeriesInMemoryOpensThroughItsBytesAlone()
    {
        var (w, h, tile, frames) = DicomTestSeries.JpegLevels(Source)[1];
        var bytes = DicomWsiWriter.ToBytes(new DicomWsiInstance { SopInstanceUid = "1.2.6", Columns = tile, Rows = tile, TotalColumns = w, TotalRows = h, Frames = frames });
        using var dicom = Slide.Open(new MemorySource(bytes, "in-memory"));
        using var svs = Slide.Open(Source);
        Assert.Equal(svs.ReadRegion(1, 0, 0, (int)w, (int)h).Pixels, dicom.ReadRegion(0, 0, 0, (int)w, (int)h).Pixels);
    }
}
