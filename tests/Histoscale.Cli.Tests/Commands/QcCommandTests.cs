using System.Text.Json;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>qc</c> and <c>infer --qc</c> as a user runs them, and the CLI's refusal of options a verb does not define.</summary>
public sealed class QcCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-qc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>2048 px at 1 µm/px with a 0.6 mm black ink stroke across the middle (or none: the clean twin).</summary>
    private string Slide(string name, bool inked)
    {
        var path = Path.Combine(_dir, name + ".tif");
        SlideSynthesizer.Write(path, new SynthOptions
        {
            Width = 2048,
            Height = 2048,
            TileSize = 256,
            Layout = SynthLayout.Tiff,
            MicronsPerPixel = 1.0,
            Seed = 5,
            Quality = 90,
            Artifacts = inked ? [new SynthPen([(200, 1100), (1850, 1000)], 600, (45, 45, 50))] : [],
        });
        return path;
    }

    /// <summary>
    /// <c>qc --max-bad-tiles</c> has infer's meaning: one corrupt tile of the level the masks are read from is
    /// reported (qc.json's unreadableTiles, naming it) and fails the slide only beyond the limit; a bad value exits 2.
    /// </summary>
    [Fact]
    public async Task MaxBadTilesDecidesWhetherQcFailsASlideWithACorruptTile()
    {
        var clean = Path.Combine(_dir, "clean.svs");
        SlideSynthesizer.Write(clean, new SynthOptions { Width = 1600, Height = 1200, Seed = 9, MicronsPerPixel = 0.5, MaxDegreeOfParallelism = 2 });
        var slide = Path.Combine(_dir, "damaged.svs");
        var bytes = File.ReadAllBytes(clean);
        Histoscale.Slides.Tests.Support.TileDamage.ScrambleJpegScan(bytes, (3 * 7) + 3, seed: 1); // level 0 tile (3,3), markers intact
        File.WriteAllBytes(slide, bytes);

        // Masks at the slide's own resolution: level 0 is the mask image, all 35 of its tiles are read.
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("qc", slide, "--out", Path.Combine(_dir, "lenient"), "--mask-mpp", "0.5", "--max-bad-tiles", "1", "--json");
        Assert.True(code == 0, stderr);
        var row = JsonDocument.Parse(stdout).RootElement.GetProperty("slides")[0];
        Assert.Equal(1, row.GetProperty("unreadableTiles").GetInt32());
        Assert.Contains("level 0 tile (3,3)", row.GetProperty("unreadableCauses")[0].GetString());

        // As infer: 0 allowed fails the slide naming the tile (and so does the default, 1 % of 35 tiles).
        foreach (var limit in new[] { "0", null })
        {
            string[] args = ["qc", slide, "--out", Path.Combine(_dir, "strict" + limit), "--mask-mpp", "0.5", .. (limit is null ? Array.Empty<string>() : new[] { "--max-bad-tiles", limit })];
            (code, _, stderr) = await ReaderCommandsTests.Run(args);
            Assert.Equal(CliRunner.BadInput, code);
            Assert.Contains("1 of 35 mask-level tiles could not be read, more than --max-bad-tiles allows (0)", stderr);
            Assert.Contains("level 0 tile (3,3)", stderr);
        }

        (code, _, stderr) = await ReaderCommandsTests.Run("qc", slide, "--out", Path.Combine(_dir, "x"), "--max-bad-tiles", "lots");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--max-bad-tiles", stderr);
    }

    [Fact]
    public async Task QcWritesPerSlideJsonMasksSummaryAndReport()
    {
        var inked = Slide("inked", inked: true);
        var clean = Slide("clean", inked: false);
        var outDir = Path.Combine(_dir, "qc");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("qc", inked, clean, "--out", outDir, "--json", "--mask-mpp", "8");
        Assert.True(code == 0, stderr);
        var slides = JsonDocument.Parse(stdout).RootElement.GetProperty("slides");
        Assert.Equal(2, slides.GetArrayLength());
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "inked.qc.json")));
        var q = json.RootElement;
        foreach (var key in new[] { "tissueFraction", "blurFraction", "penFraction", "foldFraction", "darkFraction", "brightFraction", "brightness", "contrast", "usable", "flags", "maskMpp" })
        {
            Assert.True(q.TryGetProperty(key, out _), key);
        }
        Assert.True(q.GetProperty("penFraction").GetDouble() > 0.1);
        Assert.False(q.GetProperty("usable").GetBoolean());
        Assert.Contains("pen", q.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        using var cleanJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "clean.qc.json")));
        Assert.True(cleanJson.RootElement.GetProperty("usable").GetBoolean(), cleanJson.RootElement.ToString());
        foreach (var mask in new[] { "qc-blur", "qc-pen", "qc-fold" })
        {
            var image = Histoscale.Slides.Imaging.ImageFiles.Load(Path.Combine(outDir, $"inked.{mask}.png"));
            Assert.Equal((2048 / 8, 2048 / 8), (image.Width, image.Height));
        }
        var csv = File.ReadAllLines(Path.Combine(outDir, "qc-summary.csv"));
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("name,path,tissueFraction,blurFraction,penFraction,foldFraction,darkFraction,brightFraction,brightness,contrast,usable,flags", csv[0]);
        var html = File.ReadAllText(Path.Combine(outDir, "qc-report.html"));
        Assert.Contains("data:image/jpeg;base64,", html);
        Assert.Contains("<script>", html);
        Assert.DoesNotContain("src=\"http", html);
    }

    [Fact]
    public async Task InferWithQcExcludesInkedTilesAndReportsQc()
    {
        var slide = Slide("inked", inked: true);
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var plain = Path.Combine(_dir, "plain");
        var withQc = Path.Combine(_dir, "withqc");
        var (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", plain, "--mpp", "1");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", withQc, "--mpp", "1", "--qc");
        Assert.True(code == 0, stderr);

        var without = File.ReadAllLines(Path.Combine(plain, "inked.tiles.csv"));
        var with = File.ReadAllLines(Path.Combine(withQc, "inked.tiles.csv"));
        Assert.DoesNotContain(without, l => l.Contains("excluded", StringComparison.Ordinal));
        Assert.Equal(without.Length, with.Length);
        var excluded = 0;
        for (var i = 1; i < with.Length; i++)
        {
            if (with[i].EndsWith(",excluded:pen", StringComparison.Ordinal))
            {
                excluded++;
                // Same tile, no values.
                Assert.Equal(string.Join(',', without[i].Split(',')[..5]), string.Join(',', with[i].Split(',')[..5]));
            }
            else
            {
                Assert.Equal(without[i], with[i]);
            }
        }
        Assert.True(excluded > 0, "no tile excluded");
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(withQc, "run.json")));
        var qc = run.RootElement.GetProperty("slides")[0].GetProperty("qc");
        Assert.Equal(excluded, qc.GetProperty("excludedPen").GetInt32());
        Assert.True(qc.GetProperty("penFraction").GetDouble() > 0.1);
        using var plainRun = JsonDocument.Parse(File.ReadAllText(Path.Combine(plain, "run.json")));
        Assert.False(plainRun.RootElement.GetProperty("slides")[0].TryGetProperty("qc", out _));

        // --qc is part of the settings: a rerun without it into the same folder runs the slide again.
        (code, var stdout, stderr) = await ReaderCommandsTests.Run("infer", slide, "--model", model, "--out", withQc, "--mpp", "1", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("completed", JsonDocument.Parse(stdout).RootElement.GetProperty("slides")[0].GetProperty("status").GetString());
        Assert.Equal(without, File.ReadAllLines(Path.Combine(withQc, "inked.tiles.csv")));
    }

    [Fact]
    public async Task QcOfANonSlideOrAnUnreadableLevelExitsTwoNamingIt()
    {
        var text = Path.Combine(_dir, "notes.svs");
        File.WriteAllText(text, "not a slide");
        var (code, _, stderr) = await ReaderCommandsTests.Run("qc", text, "--out", Path.Combine(_dir, "o1"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("notes", stderr);

        // The file cut short: the low-resolution levels (written last) are gone.
        var whole = Slide("whole", inked: false);
        var bytes = File.ReadAllBytes(whole);
        var cut = Path.Combine(_dir, "cut.tif");
        File.WriteAllBytes(cut, bytes[..(int)(bytes.Length * 0.8)]);
        (code, _, stderr) = await ReaderCommandsTests.Run("qc", cut, "--out", Path.Combine(_dir, "o2"));
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("cut", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("infer", "--stain-normalise")] // the British spelling is not the flag
    [InlineData("qc", "--bogus")]
    [InlineData("info", "-z")]
    [InlineData("thumbnail", "--colour")]
    public async Task AnOptionTheVerbDoesNotDefineExitsTwoNamingIt(string verb, string option)
    {
        var slide = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 600, Height = 500, Seed = 2 });
        string[] args = verb switch
        {
            "infer" => ["infer", slide, option, "macenko", "--model", "m.onnx", "--out", _dir],
            "qc" => ["qc", slide, option, "--out", _dir],
            "thumbnail" => ["thumbnail", slide, option, "red", "-o", Path.Combine(_dir, "t.png")],
            _ => [verb, slide, option],
        };
        var (code, stdout, stderr) = await ReaderCommandsTests.Run(args);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains($"unknown option '{option}'", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task AfterADoubleDashADashedNameIsAPath()
    {
        var (code, _, stderr) = await ReaderCommandsTests.Run("info", "--", "-not-an-option.svs");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.DoesNotContain("unknown option", stderr);
        Assert.Contains("-not-an-option.svs", stderr);
    }
}
