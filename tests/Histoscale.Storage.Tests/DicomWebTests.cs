using System.Globalization;
using Histoscale.Cli;
using Histoscale.Inference.Repository;
using Histoscale.Slides;
using Histoscale.Slides.Tests.Support;
using Histoscale.Storage.Tests.Support;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Storage.Tests;

/// <summary>
/// DICOM whole-slide series read over DICOMweb from a real server (Debian's Orthanc with its DICOMweb plugin, started
/// by .ci/orthanc.sh): series written by our own DICOM writer (JPEG frames, native frames in explicit and implicit VR,
/// a label) and by an independent producer (orthanc-wsi's OrthancWSIDicomizer) are uploaded through Orthanc's REST API
/// and must read, level by level and image by image, exactly as the same files read from disk; infer's tile table over
/// the URL equals the one over the folder, and `infer`'s prefetch hints fetch frames ahead in a few large requests.
/// A loopback proxy in front of Orthanc requires a bearer token, answers frames 404, cuts multipart answers short, or
/// refuses frame lists (the reader falls back to one frame per request). Skipped with a message where Orthanc is not running.
/// </summary>
public sealed class DicomWebTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-dicomweb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SlideOptions Options(string? token = null, int framesPerRequest = 8, int attempts = 2) => new()
    {
        Cache = null,
        Sources = [new ObjectStoreProvider(new StorageOptions
        {
            DicomWebToken = token,
            DicomWebFramesPerRequest = framesPerRequest,
            Strategy = StorageStrategy.Default with { Retry = new RetryOptions { MaxAttempts = attempts, BaseDelay = TimeSpan.FromMilliseconds(5) } },
        })],
    };

    /// <summary>A synthesized SVS, and a folder with its DICOM series by our writer (JPEG levels from the SVS's own tiles, or native pixels), rerooted to <paramref name="root"/>.</summary>
    private (string Svs, string Folder) Series(int root, bool jpeg, int width = 1100, int height = 800)
    {
        var svs = Path.Combine(_dir, $"s{root}.svs");
        SlideSynthesizer.Write(svs, new SynthOptions { Width = width, Height = height, TileSize = 128, Seed = root });
        var folder = Directory.CreateDirectory(Path.Combine(_dir, $"series{root}")).FullName;
        using var slide = Slide.Open(svs);
        if (jpeg)
        {
            for (var l = 0; l < slide.Levels.Count; l++)
            {
                var level = slide.Levels[l];
                var frames = new List<byte[]>();
                for (long r = 0; r < (level.Height + level.TileHeight - 1) / level.TileHeight; r++)
                {
                    for (long c = 0; c < (level.Width + level.TileWidth - 1) / level.TileWidth; c++)
                    {
                        frames.Add(slide.ReadStoredJpegTile(l, c, r)!);
                    }
                }
                var mm = slide.MppX!.Value * level.Downsample / 1000;
                DicomWsiWriter.Write(Path.Combine(folder, $"level{l}.dcm"), new DicomWsiInstance
                {
                    SopInstanceUid = $"1.2.826.0.1.3680043.10.3.{l + 1}",
                    Columns = level.TileWidth,
                    Rows = level.TileHeight,
                    TotalColumns = level.Width,
                    TotalRows = level.Height,
                    Frames = frames,
                    PixelSpacing = (mm, mm),
                    InstanceNumber = l + 1,
                    BasicOffsetTable = l % 2 == 1,
                });
            }
            var label = slide.ReadAssociatedImage("label");
            DicomWsiWriter.Write(Path.Combine(folder, "label.dcm"), new DicomWsiInstance
            {
                SopInstanceUid = "1.2.826.0.1.3680043.10.3.99",
                ImageType = "ORIGINAL\\PRIMARY\\LABEL\\NONE",
                Columns = label.Width,
                Rows = label.Height,
                Photometric = "RGB",
                TransferSyntax = DicomWsiInstance.ExplicitLittle,
                Frames = [DicomWsiWriter.Rgb(label.Pixels)],
                InstanceNumber = 50,
            });
        }
        else
        {
            DicomWsiWriter.WriteUncompressedSeries(slide, folder);
        }
        Orthanc.Reroot(folder, root);
        return (svs, folder);
    }

    /// <summary>Every level (whole) and associated image of <paramref name="remote"/> equals <paramref name="local"/>'s pixel for pixel.</summary>
    private static void AssertSameSlide(Slide local, Slide remote)
    {
        Assert.Equal("dicom", remote.Format);
        Assert.Equal(local.Levels.Count, remote.Levels.Count);
        Assert.Equal(local.MppX, remote.MppX);
        Assert.Equal(local.MppY, remote.MppY);
        Assert.Equal(local.Properties["dicom.TransferSyntaxUID"], remote.Properties["dicom.TransferSyntaxUID"]);
        for (var l = 0; l < local.Levels.Count; l++)
        {
            var level = local.Levels[l];
            Assert.Equal((level.Width, level.Height, level.TileWidth, level.TileHeight), (remote.Levels[l].Width, remote.Levels[l].Height, remote.Levels[l].TileWidth, remote.Levels[l].TileHeight));
            var a = local.ReadRegion(l, 0, 0, (int)level.Width, (int)level.Height).Pixels;
            var b = remote.ReadRegion(l, 0, 0, (int)level.Width, (int)level.Height).Pixels;
            Assert.True(a.AsSpan().SequenceEqual(b), $"level {l} differs over DICOMweb");
        }
        Assert.Equal(local.AssociatedImages.Keys.Order(), remote.AssociatedImages.Keys.Order());
        foreach (var name in local.AssociatedImages.Keys)
        {
            Assert.True(local.ReadAssociatedImage(name).Pixels.AsSpan().SequenceEqual(remote.ReadAssociatedImage(name).Pixels), $"{name} differs over DICOMweb");
        }
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void OurSeriesOverDicomWebEqualsTheFiles(bool jpeg)
    {
        Orthanc.Require();
        var (_, folder) = Series(jpeg ? 41 : 42, jpeg);
        var url = Orthanc.Upload(folder);
        using var proxy = new DicomWebProxy(Orthanc.Url!);
        using var local = Slide.Open(folder);
        using var remote = Slide.Open(proxy.Through(url), Options());
        Assert.Equal(proxy.Through(url), remote.Source);
        AssertSameSlide(local, remote);
        Assert.True(remote.AssociatedImages.ContainsKey("label"));
        // Neighbouring frames came several to a request: fewer requests than tiles, and some asked for several.
        var tiles = local.Levels.Sum(l => ((l.Width + l.TileWidth - 1) / l.TileWidth) * ((l.Height + l.TileHeight - 1) / l.TileHeight));
        Assert.True(proxy.FrameRequests < tiles, $"{proxy.FrameRequests} frame requests for {tiles} tiles");
        Assert.True(proxy.MultiFrameRequests > 0);
        Assert.NotNull(remote.SourceIdentity);
    }

    [SkippableFact]
    public void OneFramePerRequestReadsTheSame()
    {
        Orthanc.Require();
        var (_, folder) = Series(43, jpeg: true, width: 600, height: 500);
        var url = Orthanc.Upload(folder);
        using var proxy = new DicomWebProxy(Orthanc.Url!);
        using var local = Slide.Open(folder);
        using var remote = Slide.Open(proxy.Through(url), Options(framesPerRequest: 1));
        AssertSameSlide(local, remote);
        Assert.Equal(0, proxy.MultiFrameRequests);
    }

    private static string? Dicomizer => Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator)
        .Select(d => Path.Combine(d, "OrthancWSIDicomizer")).FirstOrDefault(File.Exists);

    private static string? LibOpenSlide => new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib" }
        .Select(d => Path.Combine(d, "libopenslide.so.0")).FirstOrDefault(File.Exists);

    /// <summary>orthanc-wsi's own series (JPEG as transcoded, and re-encoded as lossless JPEG 2000); Orthanc's metadata gives no transfer syntax for them, so the reader asks the server.</summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void DicomizerSeriesOverDicomWebEqualsTheFiles(bool jpeg2000)
    {
        Orthanc.Require();
        Skip.If(Dicomizer is null, "orthanc-wsi comparison skipped: OrthancWSIDicomizer is not installed (apt-get install orthanc-wsi; .ci/run installs it)");
        Skip.If(LibOpenSlide is null, "orthanc-wsi comparison skipped: libopenslide.so.0 not found (the dicomizer reads SVS through it)");
        var svs = Path.Combine(_dir, "d.svs");
        SlideSynthesizer.Write(svs, new SynthOptions { Width = 900, Height = 700, TileSize = 128, Seed = 44 });
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "dicomized")).FullName;
        string[] extra = jpeg2000 ? ["--reencode", "1", "--compression", "jpeg2000", "--levels", "2"] : [];
        var info = new System.Diagnostics.ProcessStartInfo(Dicomizer!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--openslide", LibOpenSlide!, "--folder", folder, "--max-size", "0", .. extra, svs])
        {
            info.ArgumentList.Add(a);
        }
        using (var run = System.Diagnostics.Process.Start(info)!)
        {
            var stderr = run.StandardError.ReadToEndAsync();
            var stdout = run.StandardOutput.ReadToEnd();
            run.WaitForExit();
            Assert.True(run.ExitCode == 0, stdout + stderr.Result);
        }
        var url = Orthanc.Upload(folder);
        using var local = Slide.Open(folder);
        using var remote = Slide.Open(url, Options());
        AssertSameSlide(local, remote);
    }

    [SkippableFact]
    public async Task InferOverTheUrlWritesTheSameTileTableAsOverTheFolder()
    {
        Orthanc.Require();
        var (_, folder) = Series(45, jpeg: true);
        var url = Orthanc.Upload(folder);
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        var (code, _, stderr) = await Run("infer", folder, "--model", model, "--out", Path.Combine(_dir, "out-files"), "--batch", "8");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = await Run("infer", url, "--model", model, "--out", Path.Combine(_dir, "out-web"), "--batch", "8");
        Assert.True(code == 0, stderr);
        var files = File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "out-files"), "*.tiles.csv").Single());
        var web = File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "out-web"), "*.tiles.csv").Single());
        Assert.Contains("\n", files.TrimEnd());
        Assert.Equal(files, web);
    }

    [SkippableFact]
    public async Task TheBearerTokenIsSentFromTheFlagOrTheVariable()
    {
        Orthanc.Require();
        var (_, folder) = Series(46, jpeg: true, width: 500, height: 400);
        var url = Orthanc.Upload(folder);
        using var proxy = new DicomWebProxy(Orthanc.Url!) { RequiredToken = "s3cret-token" };
        var through = proxy.Through(url);

        using (var slide = Slide.Open(through, Options(token: "s3cret-token")))
        {
            _ = slide.ReadRegion(0, 0, 0, 300, 300);
        }
        lock (proxy.Authorizations)
        {
            Assert.NotEmpty(proxy.Authorizations);
            Assert.All(proxy.Authorizations, a => Assert.Equal("Bearer s3cret-token", a));
        }
        var refused = Assert.Throws<SlideException>(() => Slide.Open(through, Options()));
        Assert.Contains("401", refused.Message);
        Assert.Contains(through + "/metadata", refused.Message);

        var (code, stdout, stderr) = await Run("info", through, "--dicomweb-token", "s3cret-token");
        Assert.True(code == 0, stderr);
        Assert.Contains("dicom", stdout);
        (code, _, stderr) = await Run("info", through);
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("401", stderr);
    }

    [SkippableFact]
    public void BadUrlsMissingSeriesAndBrokenFramesAreClearErrors()
    {
        Orthanc.Require();
        var (_, folder) = Series(47, jpeg: true, width: 500, height: 400);
        var url = Orthanc.Upload(folder);

        // Nothing listens there.
        var dead = "http://127.0.0.1:9/dicom-web/studies/1.2.3/series/1.2.4";
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dead, Options()));
        Assert.Contains(dead + "/metadata", ex.Message);

        // A series the server does not hold.
        var missing = url[..url.LastIndexOf('/')] + "/1.2.826.0.1.3680043.99.404";
        ex = Assert.Throws<SlideException>(() => Slide.Open(missing, Options()));
        Assert.Contains("404", ex.Message);
        Assert.Contains(missing + "/metadata", ex.Message);

        using var proxy = new DicomWebProxy(Orthanc.Url!);
        using (var slide = Slide.Open(proxy.Through(url), Options()))
        {
            // (Frame 1 of each instance may already be here: Orthanc's metadata gives no transfer syntax, so opening asked for it.)
            proxy.FramesNotFound = true;
            ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 300, 0, 10, 10));
            Assert.Contains("404", ex.Message);
            Assert.Contains("/instances/1.2.826.0.1.3680043.47.3.1/frames/3", ex.Message);
            Assert.Contains("frame 3 of instance 1.2.826.0.1.3680043.47.3.1", ex.Message);
            Assert.Equal(0, ex.Level);
            Assert.Equal((2L, 0L), ex.Tile);
        }
        proxy.FramesNotFound = false;
        using (var slide = Slide.Open(proxy.Through(url), Options()))
        {
            proxy.TruncateFrames = true;
            ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 300, 0, 10, 10));
            Assert.Contains("truncated", ex.Message);
            Assert.Contains("/instances/1.2.826.0.1.3680043.47.3.1/frames/3", ex.Message);
            Assert.Contains("frame 3 of instance 1.2.826.0.1.3680043.47.3.1", ex.Message);
        }
    }

    /// <summary>
    /// `infer` over the URL: the plan's prefetch hints fetch its tiles' frames ahead in requests larger than a
    /// reader's own (which carry at most 8 here), so the run makes a few large requests, not one per tile, fetches
    /// no frame twice, and writes the same tile table as over the folder.
    /// </summary>
    [SkippableFact]
    public async Task InferFetchesHintedFramesAheadInFewLargeRequests()
    {
        Orthanc.Require();
        var (_, folder) = Series(49, jpeg: true, width: 2000, height: 1500);
        var url = Orthanc.Upload(folder);
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier());
        using var proxy = new DicomWebProxy(Orthanc.Url!);
        // No tissue detection: on a slide this small it would read all of level 0 first, and the plan would find every frame here.
        var (code, _, stderr) = await Run("infer", folder, "--model", model, "--out", Path.Combine(_dir, "out-files"), "--batch", "8", "--no-tissue");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = await Run("infer", proxy.Through(url), "--model", model, "--out", Path.Combine(_dir, "out-web"), "--batch", "8", "--no-tissue");
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "out-files"), "*.tiles.csv").Single()),
            File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "out-web"), "*.tiles.csv").Single()));
        Assert.True(proxy.MaxFramesInOneRequest > 8, $"the largest frame request asked for {proxy.MaxFramesInOneRequest} frames: no hinted request was made");
        Assert.True(proxy.FrameRequests * 4 <= proxy.FramesRequested, $"{proxy.FrameRequests} frame requests for {proxy.FramesRequested} frames");
        // Frames already read stay held while there is room: a tile two plan tiles share is not fetched twice.
        Assert.Equal(0, proxy.FramesRequestedAgain);
        Assert.DoesNotContain("warning", stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A server that will not answer frame lists — HTTP 400, 406 or 501, or one frame where several were asked for.
    /// Orthanc answers lists, so a loopback proxy in front of it refuses them as such servers do. The reader asks
    /// for the first frame alone, then one frame per request; the slide reads the same; the provider remembers the
    /// server (a second slide on it asks no list) and tells once, as `bench read` prints once on stderr.
    /// </summary>
    [SkippableTheory]
    [InlineData(400)]
    [InlineData(406)]
    [InlineData(501)]
    [InlineData(200)]
    public async Task AServerThatRefusesFrameListsIsAskedOneFramePerRequest(int refusal)
    {
        Orthanc.Require();
        var (_, folder) = Series(48, jpeg: true, width: 600, height: 500);
        var url = Orthanc.Upload(folder);
        using var proxy = new DicomWebProxy(Orthanc.Url!) { RefuseFrameLists = refusal };
        var warnings = new List<string>();
        var options = new SlideOptions
        {
            Cache = null,
            Sources = [new ObjectStoreProvider(new StorageOptions
            {
                Warning = w =>
                {
                    lock (warnings)
                    {
                        warnings.Add(w);
                    }
                },
                Strategy = StorageStrategy.Default with { Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(5) } },
            })],
        };
        using var local = Slide.Open(folder);
        using (var remote = Slide.Open(proxy.Through(url), options))
        {
            AssertSameSlide(local, remote);
        }
        var lists = proxy.MultiFrameRequests;
        Assert.True(lists >= 1, "no frame list was asked for");
        var warning = Assert.Single(warnings);
        Assert.Contains($"DICOMweb server {proxy.Url}/dicom-web answered a request for", warning);
        Assert.Contains(refusal == 200 ? "of 1 part for" : $"HTTP {refusal}", warning);
        Assert.Contains("one frame per request from now on", warning);

        // Remembered for the server: another slide on it asks one frame per request from the start, hints included.
        using (var again = Slide.Open(proxy.Through(url), options))
        {
            Assert.True(again.PrefetchTiles(0, [(0, 0), (1, 0), (2, 0), (3, 0)]));
            AssertSameSlide(local, again);
        }
        Assert.Equal(lists, proxy.MultiFrameRequests);
        Assert.Single(warnings);

        // The CLI tells once, on stderr.
        var (code, _, stderr) = await Run("bench", "read", proxy.Through(url), "--threads", "2");
        Assert.True(code == 0, stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("warning:", StringComparison.Ordinal) && l.Contains("one frame per request", StringComparison.Ordinal));
    }

    /// <summary>`bench storage` on a series URL: the local folder, prefetch, on-demand multi-frame and frame-at-a-time runs, then their ratios.</summary>
    [SkippableFact]
    public async Task BenchStorageReadsADicomWebSeriesAgainstItsLocalFolder()
    {
        Orthanc.Require();
        var (_, folder) = Series(50, jpeg: true, width: 900, height: 600);
        var url = Orthanc.Upload(folder);
        var (code, stdout, stderr) = await Run("bench", "storage", url, "--strategy", "all", "--local", folder, "--threads", "2", "--seconds", "60");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string Line(string mode) => Assert.Single(lines, l => l.Contains($" mode={mode} ", StringComparison.Ordinal));
        long Field(string line, string name) => long.Parse(line.Split(' ').Single(f => f.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);
        var tiles = Field(Line("none"), "tiles");
        Assert.Equal(8L * 5, tiles); // 900x600 in 128 px tiles, level 0
        var prefetch = Line("dicomweb-prefetch");
        var multi = Line("dicomweb-multiframe");
        var single = Line("dicomweb-frame-at-a-time");
        Assert.All(new[] { prefetch, multi, single }, l => Assert.Equal(tiles, Field(l, "tiles")));
        Assert.Equal(tiles - 1, Field(single, "requests")); // frame 1 came with the open (Orthanc's metadata names no transfer syntax)
        Assert.True(Field(multi, "requests") <= (tiles + 7) / 8 + 5, multi); // 8 frames a request, each row's end included
        Assert.True(Field(prefetch, "requests") < Field(multi, "requests"), prefetch + "\n" + multi);
        var ratios = Assert.Single(lines, l => l.StartsWith("ratios of median frames/s over 1 round(s): ", StringComparison.Ordinal));
        foreach (var pair in new[] { "prefetch/local=", "multiframe/local=", "frame-at-a-time/local=", "prefetch/multiframe=", "prefetch/frame-at-a-time=" })
        {
            Assert.Contains(pair, ratios);
        }
    }

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
