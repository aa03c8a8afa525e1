using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Histoscale.Archive.Tests.Support;
using Histoscale.Slides;

namespace Histoscale.Archive.Tests;

/// <summary>
/// Remote collections through the host's <see cref="IRemoteSlideStore"/> (here a store over a local folder that
/// can be made unreachable): a rescan that cannot list answers 502 naming the URL and keeps the previous listing.
/// </summary>
public sealed class RemoteCollectionTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private sealed class FolderStore(string folder) : IRemoteSlideStore
    {
        public bool Reachable { get; set; } = true;

        public bool Handles(string root) => root.StartsWith("s3://", StringComparison.Ordinal);

        public IReadOnlyList<RemoteSlideObject> List(string root, CancellationToken cancellationToken = default) => Reachable
            ? [.. Directory.EnumerateFiles(folder).Select(f => new RemoteSlideObject(Path.GetFileName(f), f, new FileInfo(f).Length, File.GetLastWriteTimeUtc(f).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture)))]
            : throw new IOException($"{root}: connection refused");

        public Slide Open(RemoteSlideObject item, SlideOptions options) => Slide.Open(item.Uri, options);
    }

    [Fact]
    public async Task A_rescan_that_cannot_list_answers_502_naming_the_url_and_keeps_the_previous_listing()
    {
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "remote-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.Copy(Path.Combine(fixture.Data.Beta, "b.tif"), Path.Combine(folder, "b.tif"));
        var store = new FolderStore(folder);
        await using var server = await ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = [new("bucket", "s3://bucket/cases")],
            Database = Databases.NewSqlite(fixture.Data.Root),
            AdminToken = ArchiveHost.AdminToken,
            RemoteSlides = store,
        }, "127.0.0.1", 0);
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        var listed = JsonNode.Parse(await admin.GetStringAsync("/api/v1/slides"))!.AsArray();
        Assert.Equal("b.tif", (string)listed.Single()!["name"]!);

        store.Reachable = false;
        var scan = await admin.PostAsync("/api/v1/slides/scan", null);
        Assert.Equal(HttpStatusCode.BadGateway, scan.StatusCode);
        Assert.Contains("s3://bucket/cases", await scan.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var id = (string)listed[0]!["id"]!;
        Assert.Equal(id, (string)JsonNode.Parse(await admin.GetStringAsync("/api/v1/slides"))![0]!["id"]!);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/slides/{id}/dzi")).StatusCode);

        store.Reachable = true;
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/slides/scan", null)).StatusCode);
    }
}
