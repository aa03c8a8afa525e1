using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Histoscale.Archive.Tests.Support;

namespace Histoscale.Archive.Tests;

/// <summary>POST /slides/scan: new slides and new overlays appear, removed ones go, only for an admin of the collection.</summary>
public sealed class ScanTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    [Fact]
    public async Task A_rescan_finds_added_slides_and_overlays_and_drops_removed_ones()
    {
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "gamma-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var results = Directory.CreateDirectory(Path.Combine(folder, "..", Path.GetFileName(folder) + "-results")).FullName;
        var database = Databases.NewSqlite(fixture.Data.Root);
        var reader = await ArchiveTokens.CreateAsync(database, ArchiveRole.Annotate, "gamma");
        await using var server = await ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = [new("gamma", folder)],
            ResultsDirectory = results,
            Database = database,
            AdminToken = ArchiveHost.AdminToken,
        }, "127.0.0.1", 0);
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync("/api/v1/slides"))!.AsArray());

        File.Copy(Path.Combine(fixture.Data.Beta, "b.tif"), Path.Combine(folder, "b.tif"));
        using var annotator = new HttpClient { BaseAddress = admin.BaseAddress };
        annotator.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await annotator.PostAsync("/api/v1/slides/scan", null)).StatusCode);
        var scan = JsonNode.Parse(await (await admin.PostAsync("/api/v1/slides/scan", null)).Content.ReadAsStringAsync())!;
        Assert.Equal(1, (int)scan["slides"]!);
        var id = (string)JsonNode.Parse(await admin.GetStringAsync("/api/v1/slides"))![0]!["id"]!;
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{id}/overlays"))!.AsArray());

        // A new infer result for the unchanged slide: the next scan adds its overlay, the slide keeps its id.
        File.Copy(Path.Combine(fixture.Data.Results, "a.heatmap.tif"), Path.Combine(results, "b.heatmap.tif"));
        await admin.PostAsync("/api/v1/slides/scan", null);
        Assert.Single(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{id}/overlays"))!.AsArray());

        File.Delete(Path.Combine(folder, "b.tif"));
        await admin.PostAsync("/api/v1/slides/scan", null);
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync("/api/v1/slides"))!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/slides/{id}/dzi")).StatusCode);
    }
}
