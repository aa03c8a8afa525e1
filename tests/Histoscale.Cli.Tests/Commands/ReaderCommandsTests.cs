using System.Text.Json;
using Histoscale.Slides;
using Histoscale.Slides.Codecs.Jpeg;

namespace Histoscale.Cli.Tests.Commands;

/// <summary>The reader verbs as a user runs them: outputs, JSON keys, and the exit-code contract (0 / 1 / 2).</summary>
public sealed class ReaderCommandsTests : IClassFixture<ReaderCommandsTests.SlideFixture>
{
    private readonly SlideFixture _fx;

    public ReaderCommandsTests(SlideFixture fx) => _fx = fx;

    public static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task InfoJsonHasTheDocumentedKeys()
    {
        var (code, stdout, stderr) = await Run("info", _fx.Svs, "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("aperio", root.GetProperty("format").GetString());
        Assert.Equal(1200, root.GetProperty("width").GetInt64());
        Assert.Equal(1000, root.GetProperty("height").GetInt64());
        var level = root.GetProperty("levels")[0];
        foreach (var key in new[] { "width", "height", "downsample", "tileWidth", "tileHeight" })
        {
            Assert.True(level.TryGetProperty(key, out _), key);
        }
        Assert.Equal(0.499, root.GetProperty("mppX").GetDouble(), 6);
        Assert.Equal(0.499, root.GetProperty("mppY").GetDouble(), 6);
        Assert.Equal(20, root.GetProperty("objectivePower").GetDouble());
        Assert.True(root.GetProperty("associatedImages").GetProperty("label").GetProperty("width").GetInt64() > 0);
        Assert.Equal("aperio", root.GetProperty("properties").GetProperty("openslide.vendor").GetString());
    }

    [Fact]
    public async Task InfoTableIsHumanReadable()
    {
        var (code, stdout, _) = await Run("info", _fx.Svs);
        Assert.Equal(0, code);
        Assert.Contains("format:          aperio", stdout);
        Assert.Contains("associated images:", stdout);
    }

    [Fact]
    public async Task RegionAssociatedAndThumbnailWriteImages()
    {
        var png = Path.Combine(_fx.Dir, "r.png");
        var jpg = Path.Combine(_fx.Dir, "r.jpg");
        Assert.Equal(0, (await Run("region", _fx.Svs, "--x", "-20", "--y", "10", "--width", "300", "--height", "200", "--output", png)).Code);
        Assert.Equal(0, (await Run("region", _fx.Svs, "--x", "100", "--y", "100", "--width", "64", "--height", "32", "--level", "1", "--output", jpg)).Code);
        var image = Histoscale.Slides.Imaging.ImageFiles.Load(png);
        Assert.Equal((300, 200), (image.Width, image.Height));
        Assert.Equal(0, image.Pixels[3]); // x < 0 is outside the slide: transparent
        Assert.Equal(0xFF, File.ReadAllBytes(jpg)[0]);
        var label = Path.Combine(_fx.Dir, "label.png");
        Assert.Equal(0, (await Run("associated", _fx.Svs, "label", "--output", label)).Code);
        Assert.True(Histoscale.Slides.Imaging.ImageFiles.Load(label).Width > 0);
        var thumb = Path.Combine(_fx.Dir, "thumb.png");
        Assert.Equal(0, (await Run("thumbnail", _fx.Svs, "--max", "256", "--output", thumb)).Code);
        Assert.Equal(256, Histoscale.Slides.Imaging.ImageFiles.Load(thumb).Width);
    }

    [Fact]
    public async Task BenchReadReportsTheDocumentedJson()
    {
        var (code, stdout, stderr) = await Run("bench", "read", _fx.Svs, "--threads", "2", "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(5 * 5, root.GetProperty("tiles").GetInt64());
        Assert.True(root.GetProperty("megapixelsPerSecond").GetDouble() > 0);
        Assert.True(root.GetProperty("tilesPerSecond").GetDouble() > 0);
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("peakRssBytes").GetInt64() > 0);
    }

    /// <summary>--jpeg-simd decodes the same tiles through each decoder path and says which path ran (after any fallback).</summary>
    [Theory]
    [InlineData("auto", JpegSimd.Auto)]
    [InlineData("avx2", JpegSimd.Avx2)]
    [InlineData("vector128", JpegSimd.Vector128)]
    [InlineData("scalar", JpegSimd.Scalar)]
    public async Task BenchReadMeasuresTheChosenJpegPath(string option, JpegSimd simd)
    {
        var (code, stdout, stderr) = await Run("bench", "read", _fx.Svs, "--threads", "2", "--json", "--jpeg-simd", option);
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(5 * 5, root.GetProperty("tiles").GetInt64());
        Assert.Equal(JpegDecoder.Resolve(simd).ToString().ToLowerInvariant(), root.GetProperty("jpegSimd").GetString());
        var (_, plain, _) = await Run("bench", "read", _fx.Svs, "--json");
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(plain).RootElement.GetProperty("jpegSimd").ValueKind);
    }

    [Theory]
    [InlineData("notatiff")]
    [InlineData("empty")]
    [InlineData("missing")]
    public async Task UnreadableInputExitsTwoWithOneLineNamingTheFile(string kind)
    {
        var path = Path.Combine(_fx.Dir, kind + ".svs");
        if (kind == "notatiff")
        {
            File.WriteAllText(path, "hello");
        }
        else if (kind == "empty")
        {
            File.WriteAllBytes(path, []);
        }
        foreach (var args in new[] { new[] { "info", path }, ["region", path, "--x", "0", "--y", "0", "--width", "1", "--height", "1", "--output", path + ".png"], ["thumbnail", path, "--output", path + ".png"], ["bench", "read", path] })
        {
            var (code, stdout, stderr) = await Run(args);
            Assert.Equal(CliRunner.BadInput, code);
            var lines = stderr.Trim().Split('\n');
            Assert.Single(lines);
            Assert.Contains(path, lines[0]);
            Assert.DoesNotContain(" at ", lines[0]); // no stack trace
        }
    }

    [Fact]
    public async Task InfoOnAnNdpiFileExitsTwoNamingTheUnsupportedFormat()
    {
        // A stand-in NDPI: a stripped TIFF with Hamamatsu's tag 65420 (what tells NDPI apart from any TIFF).
        var path = Path.Combine(_fx.Dir, "x.ndpi");
        File.WriteAllBytes(path, new Histoscale.Slides.Tests.Support.MiniTiff().Page(64, 48, 0, null, (65420, 1)).ToBytes());
        var (code, stdout, stderr) = await Run("info", path);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Equal($"histoscale: {path}: unsupported format: Hamamatsu NDPI", stderr.Trim());
    }

    [Fact]
    public async Task BadArgumentsExitTwo()
    {
        Assert.Equal(CliRunner.BadInput, (await Run("region", _fx.Svs, "--x", "0", "--y", "0", "--width", "0", "--height", "5", "--output", Path.Combine(_fx.Dir, "x.png"))).Code);
        Assert.Equal(CliRunner.BadInput, (await Run("region", _fx.Svs, "--x", "0", "--y", "0", "--width", "5", "--height", "5", "--level", "99", "--output", Path.Combine(_fx.Dir, "x.png"))).Code);
        Assert.Equal(CliRunner.BadInput, (await Run("associated", _fx.Svs, "barcode", "--output", Path.Combine(_fx.Dir, "x.png"))).Code);
        Assert.Equal(CliRunner.BadInput, (await Run("info")).Code);
        var (code, _, stderr) = await Run("region", _fx.Svs, "--x", "0", "--y", "0", "--width", "5", "--height", "5", "--output", "/nonexistent-dir/x.png");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("/nonexistent-dir/x.png", stderr);
    }

    /// <summary>Garbage after tile (2,0)'s scan (SOI, tables, EOI intact): exit 2 naming file, level, tile, cause; no image.</summary>
    [Fact]
    public async Task RegionOverACorruptTileExitsTwoNamingTheTile()
    {
        var bytes = Histoscale.Slides.Tests.Support.TileDamage.InsertBeforeEoi(File.ReadAllBytes(_fx.Svs), 2, 100, seed: 5);
        var path = Path.Combine(_fx.Dir, "corrupt-tile.svs");
        File.WriteAllBytes(path, bytes);
        var png = Path.Combine(_fx.Dir, "corrupt-tile.png");
        var (code, _, stderr) = await Run("region", path, "--x", "480", "--y", "0", "--width", "240", "--height", "240", "--output", png);
        Assert.True(code == CliRunner.BadInput, $"exit {code}: {stderr}");
        Assert.Contains(path, stderr);
        Assert.Contains("level 0 tile (2,0)", stderr);
        Assert.Contains("corrupt JPEG data", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(png));
        Assert.Equal(0, (await Run("region", path, "--x", "0", "--y", "240", "--width", "240", "--height", "240", "--output", png)).Code);
    }

    [Fact]
    public async Task SynthWritesEachLayout()
    {
        foreach (var layout in new[] { "svs", "tiff", "subifd" })
        {
            var path = Path.Combine(_fx.Dir, $"synth-{layout}.tif");
            var (code, _, stderr) = await Run("synth", path, "--width", "600", "--height", "500", "--tile", "128", "--layout", layout);
            Assert.True(code == 0, stderr);
            using var slide = Slide.Open(path);
            Assert.Equal(600, slide.Width);
            Assert.Equal(layout == "svs" ? "aperio" : "generic-tiff", slide.Format);
        }
        Assert.Equal(CliRunner.BadInput, (await Run("synth", Path.Combine(_fx.Dir, "bad.tif"), "--width", "-5", "--height", "5")).Code);
    }

    public sealed class SlideFixture : IDisposable
    {
        public SlideFixture()
        {
            Dir = Directory.CreateTempSubdirectory("histoscale-cli-").FullName;
            Svs = Path.Combine(Dir, "slide.svs");
            Histoscale.Synthesis.SlideSynthesizer.Write(Svs, new() { Width = 1200, Height = 1000, TileSize = 240, Seed = 2 });
        }

        public string Dir { get; }

        public string Svs { get; }

        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }
}
