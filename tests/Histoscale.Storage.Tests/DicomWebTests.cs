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
/// the URL equals the one over the folder. A loopback proxy in front of Orthanc requires a bearer token, answers
/// frames 404 or cuts multipart answers short. Skipped with a message where Orthanc is not running.
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

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
