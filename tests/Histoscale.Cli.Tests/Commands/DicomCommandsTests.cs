using System.Text.Json;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Cli.Tests.Commands;

/// <summary>
/// Every reader verb and <c>infer</c> on a DICOM whole-slide series (a folder, or one of its instance files), written
/// uncompressed from a synthesized SVS: the outputs must equal those over the SVS; broken DICOM exits 2 with one line.
/// </summary>
public sealed class DicomCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-dicom-").FullName;
    private readonly string _svs;
    private readonly string _series;

    public DicomCommandsTests()
    {
        _svs = Path.Combine(_dir, "a.svs");
        SlideSynthesizer.Write(_svs, new SynthOptions { Width = 900, Height = 700, TileSize = 128, Seed = 31 });
        _series = Directory.CreateDirectory(Path.Combine(_dir, "series")).FullName;
        using var slide = Histoscale.Slides.Slide.Open(_svs);
        DicomWsiWriter.WriteUncompressedSeries(slide, _series);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ReaderVerbsOnAFolderOrAnInstanceEqualTheSvs()
    {
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("info", _series, "--json");
        Assert.True(code == 0, stderr);
        var dicom = JsonDocument.Parse(stdout).RootElement;
        var svs = JsonDocument.Parse((await ReaderCommandsTests.Run("info", _svs, "--json")).Out).RootElement;
        Assert.Equal("dicom", dicom.GetProperty("format").GetString());
        Assert.Equal(svs.GetProperty("width").GetInt64(), dicom.GetProperty("width").GetInt64());
        Assert.Equal(svs.GetProperty("levels").GetArrayLength(), dicom.GetProperty("levels").GetArrayLength());
        Assert.Equal(svs.GetProperty("mppX").GetDouble(), dicom.GetProperty("mppX").GetDouble(), 9);
        Assert.True(dicom.GetProperty("associatedImages").TryGetProperty("label", out _));

        foreach (var slide in new[] { _series, Path.Combine(_series, "level1.dcm") })
        {
            var a = Path.Combine(_dir, "svs.png");
            var b = Path.Combine(_dir, "dicom.png");
            Assert.Equal(0, (await ReaderCommandsTests.Run("region", _svs, "--x", "100", "--y", "50", "--width", "300", "--height", "200", "--level", "1", "--output", a)).Code);
            Assert.Equal(0, (await ReaderCommandsTests.Run("region", slide, "--x", "100", "--y", "50", "--width", "300", "--height", "200", "--level", "1", "--output", b)).Code);
            Assert.Equal(Histoscale.Slides.Imaging.ImageFiles.Load(a).Pixels, Histoscale.Slides.Imaging.ImageFiles.Load(b).Pixels);
        }
        Assert.Equal(0, (await ReaderCommandsTests.Run("thumbnail", _series, "--output", Path.Combine(_dir, "t.png"))).Code);
        Assert.Equal(0, (await ReaderCommandsTests.Run("associated", _series, "label", "--output", Path.Combine(_dir, "l.png"))).Code);
        (code, stdout, stderr) = await ReaderCommandsTests.Run("bench", "read", _series, "--threads", "2", "--json");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task InferOverTheSeriesFolderEqualsInferOverTheSvs()
    {
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", _svs, _series, "--model", model, "--out", Path.Combine(_dir, "out"), "--batch", "8");
        Assert.True(code == 0, stderr);
        var svsTiles = File.ReadAllText(Path.Combine(_dir, "out", "a.tiles.csv"));
        Assert.Contains("\n", svsTiles.TrimEnd());
        Assert.Equal(svsTiles, File.ReadAllText(Path.Combine(_dir, "out", "series.tiles.csv")));
    }

    /// <summary>
    /// A hospital export folder with two series and a DICOMDIR: <c>infer</c> and <c>qc</c> (given the folder, or a .txt
    /// manifest naming it) write one slide's outputs per series, named by its base-level instance file, each equal to
    /// the same verb over the SVS it was written from; <c>info</c> still refuses it, naming both series.
    /// </summary>
    [Fact]
    public async Task InferAndQcOverAFolderOfTwoSeriesWriteEachSeriesOutputs()
    {
        const string uidA = "1.2.826.0.1.3680043.10.78.1";
        const string uidB = "1.2.826.0.1.3680043.10.78.2";
        var svsB = Path.Combine(_dir, "b.svs");
        SlideSynthesizer.Write(svsB, new SynthOptions { Width = 700, Height = 600, TileSize = 128, Seed = 32 });
        var export = Directory.CreateDirectory(Path.Combine(_dir, "export")).FullName;
        using (var a = Histoscale.Slides.Slide.Open(_svs))
        using (var b = Histoscale.Slides.Slide.Open(svsB))
        {
            DicomWsiWriter.WriteUncompressedSeries(a, export, new UncompressedSeries { SeriesUid = uidA, Prefix = "a-", Extension = "", Description = "H&E" });
            DicomWsiWriter.WriteUncompressedSeries(b, export, new UncompressedSeries { SeriesUid = uidB, Prefix = "b-", Description = "IHC" });
        }
        var dicomdir = new byte[300];
        "DICM"u8.CopyTo(dicomdir.AsSpan(128));
        dicomdir.AsSpan(132).Fill(0xEE);
        File.WriteAllBytes(Path.Combine(export, "DICOMDIR"), dicomdir);

        var (code, _, stderr) = await ReaderCommandsTests.Run("info", export);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains(uidA, stderr);
        Assert.Contains(uidB, stderr);

        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var manifest = Path.Combine(_dir, "export.txt");
        File.WriteAllText(manifest, "export\n");
        foreach (var (input, outName) in new[] { (export, "out"), (manifest, "out-manifest") })
        {
            var outDir = Path.Combine(_dir, outName);
            (code, _, stderr) = await ReaderCommandsTests.Run("infer", _svs, svsB, input, "--model", model, "--out", outDir, "--batch", "8");
            Assert.True(code == 0, stderr);
            foreach (var (series, svs) in new[] { ("a-level0", "a"), ("b-level0", "b") })
            {
                var tiles = File.ReadAllText(Path.Combine(outDir, svs + ".tiles.csv"));
                Assert.Contains("\n", tiles.TrimEnd());
                Assert.Equal(tiles, File.ReadAllText(Path.Combine(outDir, series + ".tiles.csv")));
            }
        }

        var qc = Path.Combine(_dir, "qc");
        (code, _, stderr) = await ReaderCommandsTests.Run("qc", _svs, export, "--out", qc, "--mask-mpp", "8");
        Assert.True(code == 0, stderr);
        using var svsQc = JsonDocument.Parse(File.ReadAllText(Path.Combine(qc, "a.qc.json")));
        using var seriesQc = JsonDocument.Parse(File.ReadAllText(Path.Combine(qc, "a-level0.qc.json")));
        foreach (var key in new[] { "tissueFraction", "blurFraction", "penFraction", "foldFraction", "usable" })
        {
            Assert.Equal(svsQc.RootElement.GetProperty(key).GetRawText(), seriesQc.RootElement.GetProperty(key).GetRawText());
        }
        Assert.True(File.Exists(Path.Combine(qc, "b-level0.qc.json")));
    }

    [Fact]
    public async Task BrokenDicomExitsTwoWithOneLine()
    {
        var ct = Path.Combine(_dir, "ct.dcm");
        DicomWsiWriter.Write(ct, new DicomWsiInstance
        {
            SopClass = "1.2.840.10008.5.1.4.1.1.2",
            Modality = "CT",
            SopInstanceUid = "1.2.8.1",
            Columns = 8,
            Rows = 8,
            SamplesPerPixel = 1,
            Photometric = "MONOCHROME2",
            TransferSyntax = DicomWsiInstance.ImplicitLittle,
            Frames = [new byte[64]],
        });
        var jpegLs = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "ls")).FullName, "x.dcm");
        DicomWsiWriter.Write(jpegLs, new DicomWsiInstance { SopInstanceUid = "1.2.8.2", Columns = 8, Rows = 8, TransferSyntax = "1.2.840.10008.1.2.4.80", Frames = [new byte[10]] });
        foreach (var (path, expected) in new[] { (ct, "not a whole-slide image: SOP class 1.2.840.10008.5.1.4.1.1.2"), (jpegLs, "unsupported DICOM transfer syntax 1.2.840.10008.1.2.4.80") })
        {
            foreach (var args in new[] { new[] { "info", path }, ["region", path, "--x", "0", "--y", "0", "--width", "1", "--height", "1", "--output", path + ".png"], ["bench", "read", path] })
            {
                var (code, stdout, stderr) = await ReaderCommandsTests.Run(args);
                Assert.Equal(CliRunner.BadInput, code);
                var line = Assert.Single(stderr.Trim().Split('\n'));
                Assert.StartsWith($"histoscale: {path}: {expected}", line);
            }
        }
    }
}
