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
