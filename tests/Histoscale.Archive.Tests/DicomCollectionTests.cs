using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Histoscale.Archive.Tiles;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Archive.Tests;

/// <summary>
/// DICOM whole-slide series in a collection folder: each series is one slide (two series in one folder beside a
/// DICOMDIR, a CT slice and a text file; a folder of one series), listed with size, µm per pixel and levels, and served
/// by the tile server as the reader reads it; a rescan picks up series added and removed, and a series keeps its id.
/// </summary>
public sealed class DicomCollectionTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private const string SeriesA = "1.2.826.0.1.3680043.10.31.1";
    private const string SeriesB = "1.2.826.0.1.3680043.10.31.2";
    private const string SeriesC = "1.2.826.0.1.3680043.10.31.3";
    private const string SeriesD = "1.2.826.0.1.3680043.10.31.4";

    private static void WriteCt(string path, string seriesUid) => DicomWsiWriter.Write(path, new DicomWsiInstance
    {
        SopClass = "1.2.840.10008.5.1.4.1.1.2",
        Modality = "CT",
        SeriesUid = seriesUid,
        SopInstanceUid = "1.2.826.0.1.3680043.10.31.9.1",
        Columns = 8,
        Rows = 8,
        SamplesPerPixel = 1,
        Photometric = "MONOCHROME2",
        TransferSyntax = DicomWsiInstance.ExplicitLittle,
        Frames = [new byte[64]],
    });

    private static async Task<JsonArray> Slides(HttpClient client) => JsonNode.Parse(await client.GetStringAsync("/api/v1/slides"))!.AsArray();

    private static JsonNode Named(JsonArray slides, string name) =>
        slides.SingleOrDefault(s => (string)s!["name"]! == name) ?? throw new Xunit.Sdk.XunitException($"no slide named '{name}' in {slides.ToJsonString()}");

    [Fact]
    public async Task Each_dicom_series_is_a_slide_and_its_tiles_regions_thumbnail_and_label_are_the_readers()
    {
        var root = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var mixed = Directory.CreateDirectory(Path.Combine(root, "case-1")).FullName;
        var single = Directory.CreateDirectory(Path.Combine(root, "batch", "case-2")).FullName;
        using var svs = Slide.Open(Path.Combine(fixture.Data.Alpha, "a.svs"));
        using var tif = Slide.Open(Path.Combine(fixture.Data.Beta, "b.tif"));
        // Two series in one folder (instance files without an extension, and with), a media directory that does not
        // even parse, a CT slice of series B, a text file; a folder of one series.
        DicomWsiWriter.WriteUncompressedSeries(svs, mixed, new UncompressedSeries { SeriesUid = SeriesA, Prefix = "a-", Extension = "", Description = "H&E", Overview = true });
        DicomWsiWriter.WriteUncompressedSeries(tif, mixed, new UncompressedSeries { SeriesUid = SeriesB, Prefix = "b-", Description = "IHC" });
        var dicomdir = new byte[300];
        "DICM"u8.CopyTo(dicomdir.AsSpan(128));
        dicomdir.AsSpan(132).Fill(0xEE);
        File.WriteAllBytes(Path.Combine(mixed, "DICOMDIR"), dicomdir);
        WriteCt(Path.Combine(mixed, "ct-slice"), SeriesB);
        File.WriteAllText(Path.Combine(mixed, "README.txt"), "two scans of case 1");
        DicomWsiWriter.WriteUncompressedSeries(tif, single, new UncompressedSeries { SeriesUid = SeriesC });

        await using var server = await ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = [new("dicom", root)],
            Database = Databases.NewSqlite(fixture.Data.Root),
            AdminToken = ArchiveHost.AdminToken,
        }, "127.0.0.1", 0);
        Assert.Empty(server.Archive.ScanProblems);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);

        var slides = await Slides(client);
        Assert.Equal(3, slides.Count);
        var a = Named(slides, "case-1: H&E");
        Assert.Equal("dicom", (string)a["collection"]!);
        Assert.Equal((svs.Width, svs.Height, svs.Levels.Count), ((long)a["width"]!, (long)a["height"]!, (int)a["levels"]!));
        Assert.Equal(svs.MppY!.Value, (double)a["mppX"]!, 9);
        var b = Named(slides, "case-1: IHC");
        Assert.Equal((tif.Width, tif.Height, tif.Levels.Count), ((long)b["width"]!, (long)b["height"]!, (int)b["levels"]!));
        var c = Named(slides, "case-2");
        var idA = (string)a["id"]!;
        var idC = (string)c["id"]!;
        var detail = JsonNode.Parse(await client.GetStringAsync($"/api/v1/slides/{idA}"))!;
        Assert.Equal("dicom", (string)detail["format"]!);
        Assert.Equal(["label", "macro"], detail["associated"]!.AsArray().Select(n => (string)n!).Order(StringComparer.Ordinal));

        // The tile server reads the series as the reader does: Deep Zoom and zxy tiles byte for byte, a region's
        // pixels (PNG) equal to the source slide's, the thumbnail, the label and the overview.
        using var reader = Slide.OpenDicomSeries(mixed, SeriesA);
        var geometry = DeepZoomGeometry.For(reader);
        Assert.Contains($"Width=\"{svs.Width}\" Height=\"{svs.Height}\"", await client.GetStringAsync($"/api/v1/slides/{idA}/dzi"), StringComparison.Ordinal);
        foreach (var (level, col, row) in new[] { (geometry.MaxLevel, 1L, 1L), (geometry.MaxLevel - 1, 0L, 0L), (geometry.MaxLevel - 3, 0L, 0L) })
        {
            var tile = await client.GetAsync($"/api/v1/slides/{idA}/dzi_files/{level}/{col}_{row}.jpeg");
            Assert.Equal(HttpStatusCode.OK, tile.StatusCode);
            Assert.Equal(TileRenderer.DeepZoomTile(reader, geometry, level, col, row, ImageFileFormat.Jpeg).Bytes, await tile.Content.ReadAsByteArrayAsync());
        }
        var z0 = await client.GetByteArrayAsync($"/api/v1/slides/{idA}/tiles/zxy/0/0/0");
        Assert.Equal(TileRenderer.DeepZoomTile(reader, geometry, geometry.ZxyOffset, 0, 0, ImageFileFormat.Jpeg).Bytes, z0);
        var region = ImageFiles.Load(await Save(await client.GetAsync($"/api/v1/slides/{idA}/region?x=100&y=50&width=300&height=200&level=0&format=png")));
        Assert.Equal((300, 200), (region.Width, region.Height));
        Assert.True(svs.ReadRegion(0, 100, 50, 300, 200).Pixels.AsSpan().SequenceEqual(region.Pixels), "the region differs from the source slide's");
        var thumbnail = ImageFiles.Load(await Save(await client.GetAsync($"/api/v1/slides/{idA}/thumbnail?max=120")));
        Assert.Equal(120, Math.Max(thumbnail.Width, thumbnail.Height));
        var label = ImageFiles.Load(await Save(await client.GetAsync($"/api/v1/slides/{idA}/associated/label")));
        Assert.Equal((svs.AssociatedImages["label"].Width, svs.AssociatedImages["label"].Height), (label.Width, label.Height));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/slides/{idA}/associated/macro")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{(string)b["id"]!}/associated/label")).StatusCode);
        var tileC = await client.GetAsync($"/api/v1/slides/{idC}/dzi_files/{DeepZoomGeometry.For(tif).MaxLevel}/0_0.jpeg");
        Assert.Equal(HttpStatusCode.OK, tileC.StatusCode);

        // Series B removed, series D added in a new folder: a rescan drops B and lists D; A (now alone in its folder,
        // so named after it) and C keep their ids.
        foreach (var file in Directory.EnumerateFiles(mixed, "b-*"))
        {
            File.Delete(file);
        }
        var added = Directory.CreateDirectory(Path.Combine(root, "case-3")).FullName;
        DicomWsiWriter.WriteUncompressedSeries(tif, added, new UncompressedSeries { SeriesUid = SeriesD, Extension = "" });
        var scan = JsonNode.Parse(await (await client.PostAsync("/api/v1/slides/scan", null)).Content.ReadAsStringAsync())!;
        Assert.Equal(3, (int)scan["slides"]!);
        Assert.Empty(scan["problems"]!.AsArray());
        slides = await Slides(client);
        Assert.Equal(idA, (string)Named(slides, "case-1")["id"]!);
        Assert.Equal(idC, (string)Named(slides, "case-2")["id"]!);
        Assert.Equal(tif.Width, (long)Named(slides, "case-3")["width"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{(string)b["id"]!}/dzi")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/slides/{idA}/dzi_files/{geometry.MaxLevel}/1_1.jpeg")).StatusCode);
    }

    [Fact]
    public async Task A_corrupt_instance_is_a_scan_problem_naming_it_and_the_other_series_are_served()
    {
        var root = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-bad-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        using var tif = Slide.Open(Path.Combine(fixture.Data.Beta, "b.tif"));
        DicomWsiWriter.WriteUncompressedSeries(tif, root, new UncompressedSeries { SeriesUid = SeriesA, Prefix = "a-" });
        DicomWsiWriter.WriteUncompressedSeries(tif, root, new UncompressedSeries { SeriesUid = SeriesB, Prefix = "b-" });
        var corrupt = Path.Combine(root, "b-level1.dcm");
        var bytes = File.ReadAllBytes(corrupt);
        File.WriteAllBytes(corrupt, bytes[..^5000]); // its pixel data cut short; its header still names series B

        await using var server = await ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = [new("bad", root)],
            Database = Databases.NewSqlite(fixture.Data.Root),
            AdminToken = ArchiveHost.AdminToken,
        }, "127.0.0.1", 0);
        var problem = Assert.Single(server.Archive.ScanProblems);
        Assert.Contains("b-level1.dcm", problem, StringComparison.Ordinal);
        Assert.Contains(SeriesB, problem, StringComparison.Ordinal);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        var slide = Assert.Single(await Slides(client));
        Assert.Equal(SlideCatalog.IdOf("bad", "\0dicom-series\0" + SeriesA), (string)slide!["id"]!);
        // Repaired: the next scan serves series B too, and reports nothing.
        File.WriteAllBytes(corrupt, bytes);
        var scan = JsonNode.Parse(await (await client.PostAsync("/api/v1/slides/scan", null)).Content.ReadAsStringAsync())!;
        Assert.Equal(2, (int)scan["slides"]!);
        Assert.Empty(scan["problems"]!.AsArray());
    }

    [Fact]
    public async Task A_job_on_a_dicom_series_runs_infer_on_that_series_and_its_heatmap_becomes_its_overlay()
    {
        var root = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-jobs-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var results = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-job-results-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var mixed = Directory.CreateDirectory(Path.Combine(root, "case-1")).FullName;
        var single = Directory.CreateDirectory(Path.Combine(root, "case-2")).FullName;
        using var tif = Slide.Open(Path.Combine(fixture.Data.Beta, "b.tif"));
        DicomWsiWriter.WriteUncompressedSeries(tif, mixed, new UncompressedSeries { SeriesUid = SeriesA, Prefix = "a-", Extension = "" });
        DicomWsiWriter.WriteUncompressedSeries(tif, mixed, new UncompressedSeries { SeriesUid = SeriesB, Prefix = "b-" });
        File.WriteAllBytes(Path.Combine(mixed, "DICOMDIR"), [.. new byte[128], .. "DICM"u8, .. new byte[64]]);
        DicomWsiWriter.WriteUncompressedSeries(tif, single, new UncompressedSeries { SeriesUid = SeriesC });
        await using var server = await ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = [new("dicom", root)],
            ResultsDirectory = results,
            Database = Databases.NewSqlite(fixture.Data.Root),
            AdminToken = ArchiveHost.AdminToken,
            ModelRepository = TestModels.Repository(fixture.Data.Root),
            Jobs = TestModels.Jobs(),
        }, "127.0.0.1", 0);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        var slides = await Slides(client);
        var (idA, idB, idC) = ((string)Named(slides, $"case-1: {SeriesA}")["id"]!, (string)Named(slides, $"case-1: {SeriesB}")["id"]!, (string)Named(slides, "case-2")["id"]!);
        foreach (var id in new[] { idA, idC })
        {
            var submitted = await client.PostAsync("/api/v1/jobs", new StringContent($$"""{"slideIds":["{{id}}"],"model":"{{TestModels.Tissue}}"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
            var job = await JobContract.WaitAsync(client, (string)JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!);
            Assert.True((string)job["state"]! == Jobs.JobRunner.Completed, job.ToJsonString());
        }
        // Series A of the two-series folder ran as its base level's instance file (which opens that series alone),
        // series C as its folder; each heatmap, with infer's records of the series' identity, is that series' overlay.
        Assert.True(File.Exists(Path.Combine(results, "dicom", "case-1", "a-level0.heatmap.tif")));
        Assert.True(File.Exists(Path.Combine(results, "dicom", "case-2.heatmap.tif")));
        Assert.Single(JsonNode.Parse(await client.GetStringAsync($"/api/v1/slides/{idA}/overlays"))!.AsArray());
        Assert.Single(JsonNode.Parse(await client.GetStringAsync($"/api/v1/slides/{idC}/overlays"))!.AsArray());
        Assert.Empty(JsonNode.Parse(await client.GetStringAsync($"/api/v1/slides/{idB}/overlays"))!.AsArray());
        var scan = JsonNode.Parse(await (await client.PostAsync("/api/v1/slides/scan", null)).Content.ReadAsStringAsync())!;
        Assert.Empty(scan["problems"]!.AsArray());
    }

    [Fact]
    public void A_series_folder_with_files_the_catalog_left_out_is_opened_by_its_base_instance_file()
    {
        // A folder of one series, plus a link to another series' instance outside the collection (not listed: it
        // leads outside). Opened as a folder, the job's input would hold two series; the base instance file opens
        // exactly the series listed.
        var root = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-left-out-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "dicom-outside-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var folder = Directory.CreateDirectory(Path.Combine(root, "case-1")).FullName;
        using var tif = Slide.Open(Path.Combine(fixture.Data.Beta, "b.tif"));
        DicomWsiWriter.WriteUncompressedSeries(tif, folder, new UncompressedSeries { SeriesUid = SeriesA });
        DicomWsiWriter.WriteUncompressedSeries(tif, outside, new UncompressedSeries { SeriesUid = SeriesB });
        File.CreateSymbolicLink(Path.Combine(folder, "zz-elsewhere.dcm"), Directory.EnumerateFiles(outside).Order(StringComparer.Ordinal).First());

        using var catalog = new SlideCatalog(new ArchiveOptions { Collections = [new("dicom", root)], Database = "unused" });
        var (count, problems) = catalog.Scan();
        Assert.Equal(1, count);
        var slide = Assert.Single(catalog.All);
        // Its path (what a job runs infer on) and its file are the base level's instance, not the folder.
        Assert.Equal("case-1/" + Path.GetFileName(slide.File), slide.RelativePath);
        Assert.Equal(SlideCatalog.RealPath(folder), Path.GetDirectoryName(slide.File));
        using var opened = Slide.Open(slide.File);
        Assert.Equal(tif.Levels.Count, opened.Levels.Count);
        Assert.Throws<SlideException>(() => Slide.Open(folder)); // what the folder would have given
        Assert.DoesNotContain(problems, p => !p.Path.Contains("zz-elsewhere", StringComparison.Ordinal));
    }

    private static async Task<string> Save(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var extension = response.Content.Headers.ContentType!.MediaType == "image/png" ? ".png" : ".jpg";
        var path = Path.Combine(Path.GetTempPath(), "hs-archive-dicom-" + Guid.NewGuid().ToString("N")[..8] + extension);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }
}
