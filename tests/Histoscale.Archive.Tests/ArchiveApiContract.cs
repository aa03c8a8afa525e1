using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Histoscale.Slides;

namespace Histoscale.Archive.Tests;

/// <summary>
/// The archive's REST API over real HTTP, the same suite against each database (SQLite here, PostgreSQL in
/// <see cref="PostgresArchiveApiTests"/>): slides and tiles, overlays, annotations with versions, history and
/// GeoJSON, bad input, and restart.
/// </summary>
public abstract class ArchiveApiContract(DataFixture fixture) : IClassFixture<DataFixture>
{
    protected ArchiveData Data => fixture.Data;

    /// <summary>A fresh, empty database for one test.</summary>
    protected abstract string NewDatabase();

    protected static string SlideId(string collection, string relative) => SlideCatalog.IdOf(collection, relative);

    protected static readonly string A = SlideCatalog.IdOf("alpha", "a.svs");
    protected static readonly string B = SlideCatalog.IdOf("beta", "b.tif");

    protected static JsonObject Rectangle(double x, double y, double w = 50, double h = 40) =>
        new() { ["type"] = "rectangle", ["center"] = new JsonArray(x, y, 0), ["width"] = w, ["height"] = h, ["rotation"] = 0, ["label"] = new JsonObject { ["value"] = "tumour" } };

    protected static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    protected static async Task<JsonNode> ReadJson(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    [SkippableFact]
    public async Task Slides_are_listed_per_collection_with_geometry_and_nothing_outside_the_roots()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var slides = (await ReadJson(await host.Client().GetAsync("/api/v1/slides"))).AsArray();
        Assert.Equal(["a.svs", "b.tif", "corrupt.tif"], slides.Select(s => (string)s!["name"]!).Order().ToArray());
        var a = slides.Single(s => (string)s!["name"]! == "a.svs")!;
        Assert.Equal(A, (string)a["id"]!);
        Assert.Equal("alpha", (string)a["collection"]!);
        Assert.Equal(1200, (long)a["width"]!);
        Assert.Equal(900, (long)a["height"]!);
        Assert.Equal(0.499, (double)a["mppX"]!, 3);
        Assert.True((int)a["levels"]! >= 2);
        Assert.Contains(host.Server.Archive.ScanProblems, p => p.Contains("escape.tif", StringComparison.Ordinal) && p.Contains("outside", StringComparison.Ordinal));
        var beta = (await ReadJson(await host.Client().GetAsync("/api/v1/slides?collection=beta"))).AsArray();
        Assert.All(beta, s => Assert.Equal("beta", (string)s!["collection"]!));
    }

    [SkippableFact]
    public async Task Deep_zoom_passes_stored_tiles_through_and_answers_etags_and_cache_hits()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var client = host.Client();
        var dzi = await client.GetStringAsync($"/api/v1/slides/{B}/dzi");
        Assert.Contains("TileSize=\"256\"", dzi, StringComparison.Ordinal);
        Assert.Contains("Width=\"1024\" Height=\"768\"", dzi, StringComparison.Ordinal);
        // 1024 px wide: Deep Zoom level 10 is level 0; its interior tile (1,1) is the stored JPEG, byte for byte.
        var response = await client.GetAsync($"/api/v1/slides/{B}/dzi_files/10/1_1.jpeg");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("stored", response.Headers.GetValues("X-Tile-Source").Single());
        using (var slide = Slide.Open(Path.Combine(Data.Beta, "b.tif")))
        {
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(slide.ReadStoredJpegTile(0, 1, 1), bytes);
            // A complete JPEG of the tile: decoded by another decoder (libjpeg-turbo), it is the tile the reader decodes.
            var passed = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(response));
            var decoded = slide.ReadTile(0, 1, 1);
            Assert.Equal((decoded.Width, decoded.Height), (passed.Width, passed.Height));
            var worst = 0;
            for (var i = 0; i < decoded.Pixels.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(decoded.Pixels[i] - passed.Pixels[i]));
            }
            Assert.True(worst <= 2, $"pixels differ by up to {worst}");
        }
        var etag = response.Headers.ETag!;
        Assert.Contains("max-age", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/slides/{B}/dzi_files/10/1_1.jpeg");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
        var again = await client.GetAsync($"/api/v1/slides/{B}/dzi_files/10/1_1.jpeg");
        Assert.Equal("hit", again.Headers.GetValues("X-Tile-Cache").Single());
        // A level between stored ones is rendered: a JPEG of the level's size.
        var low = await client.GetAsync($"/api/v1/slides/{B}/dzi_files/8/0_0.jpeg");
        Assert.Equal("rendered", low.Headers.GetValues("X-Tile-Source").Single());
        var image = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(low));
        Assert.Equal((256, 192), (image.Width, image.Height));
        // zxy: z 0 is the whole slide in one tile.
        var z0 = await client.GetAsync($"/api/v1/slides/{B}/tiles/zxy/0/0/0");
        Assert.Equal(HttpStatusCode.OK, z0.StatusCode);
        var whole = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(z0));
        Assert.True(whole.Width <= 256 && whole.Height <= 256 && whole.Width > 128, $"{whole.Width}x{whole.Height}");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{B}/dzi_files/10/9_9.jpeg")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{B}/dzi_files/11/0_0.jpeg")).StatusCode);
    }

    private static async Task<string> Save(HttpResponseMessage response)
    {
        var extension = response.Content.Headers.ContentType!.MediaType == "image/png" ? ".png" : ".jpg";
        var path = Path.Combine(Path.GetTempPath(), "hs-archive-img-" + Guid.NewGuid().ToString("N")[..8] + extension);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }

    [SkippableFact]
    public async Task Regions_thumbnails_associated_images_and_overlays()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var client = host.Client();
        var region = await client.GetAsync($"/api/v1/slides/{A}/region?x=100&y=50&width=400&height=200&level=1&format=png");
        Assert.Equal("image/png", region.Content.Headers.ContentType!.MediaType);
        var image = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(region));
        Assert.Equal((100, 50), (image.Width, image.Height)); // level 1 of the SVS is 4x reduced
        var byMpp = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(await client.GetAsync($"/api/v1/slides/{A}/region?x=0&y=0&width=400&height=200&mpp=0.998")));
        Assert.Equal((200, 100), (byMpp.Width, byMpp.Height));
        var thumb = Histoscale.Slides.Imaging.ImageFiles.Load(await Save(await client.GetAsync($"/api/v1/slides/{A}/thumbnail?max=120")));
        Assert.Equal(120, Math.Max(thumb.Width, thumb.Height));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/slides/{A}/associated/label")).StatusCode);
        var missing = await client.GetAsync($"/api/v1/slides/{B}/associated/label");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var overlays = (await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/overlays"))).AsArray();
        var overlay = Assert.Single(overlays)!;
        Assert.Equal("a.heatmap.tif", (string)overlay["name"]!);
        Assert.Equal(1200, (double)overlay["width"]!, 3); // no registration in this file: stretched over the slide
        var dzi = await client.GetStringAsync((string)overlay["dzi"]!);
        Assert.Contains("Format=\"png\"", dzi, StringComparison.Ordinal);
        var tile = await client.GetAsync(((string)overlay["dzi"]!).Replace("/dzi", "/dzi_files", StringComparison.Ordinal) + "/9/0_0.png");
        Assert.Equal(HttpStatusCode.OK, tile.StatusCode);
        Assert.Equal("image/png", tile.Content.Headers.ContentType!.MediaType);
        Assert.Empty((await ReadJson(await client.GetAsync($"/api/v1/slides/{B}/overlays"))).AsArray());
    }

    [SkippableFact]
    public async Task A_corrupt_tile_is_a_5xx_naming_the_tile()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var id = SlideId("beta", "corrupt.tif");
        var response = await host.Client().GetAsync($"/api/v1/slides/{id}/dzi_files/10/0_0.jpeg");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = (string)(await ReadJson(response))["error"]!;
        Assert.Contains("corrupt.tif", error, StringComparison.Ordinal);
        Assert.Contains("level 0 tile (0,0)", error, StringComparison.Ordinal);
        // A rendered tile over the same data fails the same way, and is not cached as an image.
        var rendered = await host.Client().GetAsync($"/api/v1/slides/{id}/region?x=0&y=0&width=64&height=64");
        Assert.Equal(HttpStatusCode.InternalServerError, rendered.StatusCode);
        Assert.Contains("tile (0,0)", (string)(await ReadJson(rendered))["error"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync($"/api/v1/slides/{id}/dzi_files/10/1_1.jpeg")).StatusCode);
    }

    [SkippableFact]
    public async Task Annotations_have_versions_history_revert_and_conflicts()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var client = host.Client();
        var doc = new JsonObject { ["name"] = "tumour regions", ["description"] = "first pass", ["elements"] = new JsonArray(Rectangle(100, 100)) };
        var created = await client.PostAsync($"/api/v1/slides/{A}/annotations", Json(doc));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await ReadJson(created);
        var id = (string)body["id"]!;
        Assert.Equal(1, (int)body["version"]!);

        var got = await client.GetAsync($"/api/v1/annotations/{id}");
        Assert.Equal("\"1\"", got.Headers.ETag!.Tag);
        var annotation = (await ReadJson(got))["annotation"]!;
        Assert.Equal("tumour regions", (string)annotation["name"]!);
        Assert.False(string.IsNullOrEmpty((string)annotation["elements"]![0]!["id"]!));

        doc["elements"]!.AsArray().Add(Rectangle(800, 600));
        Assert.Equal((HttpStatusCode)428, (await client.PutAsync($"/api/v1/annotations/{id}", Json(doc))).StatusCode);
        var v2 = await Send(client, HttpMethod.Put, $"/api/v1/annotations/{id}", doc, "1");
        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        Assert.Equal(2, (int)(await ReadJson(v2))["version"]!);
        var stale = await Send(client, HttpMethod.Put, $"/api/v1/annotations/{id}", doc, "1");
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("version 2", (string)(await ReadJson(stale))["error"]!, StringComparison.Ordinal);

        // Element query by box: only the second rectangle lies in the lower right.
        var box = (await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}?left=700&top=500&right=1200&bottom=900")))["annotation"]!["elements"]!.AsArray();
        Assert.Equal(800, (double)Assert.Single(box)!["center"]![0]!);
        var listed = (await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/annotations?left=0&top=0&right=200&bottom=200"))).AsArray();
        Assert.Equal(100, (double)Assert.Single(Assert.Single(listed)!["annotation"]!["elements"]!.AsArray())!["center"]![0]!);

        var history = (await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}/history"))).AsArray();
        Assert.Equal([1, 2], history.Select(h => (int)h!["version"]!).ToArray());
        var first = await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}/history/1"));
        Assert.Single(first["annotation"]!["elements"]!.AsArray());

        var reverted = await Send(client, HttpMethod.Post, $"/api/v1/annotations/{id}/revert", new JsonObject { ["version"] = 1 }, "2");
        Assert.Equal(3, (int)(await ReadJson(reverted))["version"]!);
        Assert.Single((await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}")))["annotation"]!["elements"]!.AsArray());

        Assert.Equal(HttpStatusCode.Conflict, (await Send(client, HttpMethod.Delete, $"/api/v1/annotations/{id}", null, "2")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(client, HttpMethod.Delete, $"/api/v1/annotations/{id}", null, "3")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/annotations/{id}")).StatusCode);
        Assert.Empty((await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/annotations"))).AsArray());
        Assert.Equal(4, (await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}/history"))).AsArray().Count);
    }

    protected static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string url, JsonNode? body, string? ifMatch)
    {
        var request = new HttpRequestMessage(method, url) { Content = body is null ? null : Json(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", "\"" + ifMatch + "\"");
        }
        return client.SendAsync(request);
    }

    [SkippableFact]
    public async Task GeoJson_import_and_export_round_trip_shapes()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var client = host.Client();
        var collection = JsonNode.Parse("""
            {"type":"FeatureCollection","features":[
              {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[10,10],[110,10],[110,60],[10,60],[10,10]],[[20,20],[30,20],[30,30],[20,20]]]},"properties":{"classification":{"name":"Tumor","color":[200,0,0]}}},
              {"type":"Feature","geometry":{"type":"Point","coordinates":[500,400]},"properties":{"name":"nucleus"}},
              {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[50,70]]},"properties":{}}]}
            """)!;
        var created = await client.PostAsync($"/api/v1/slides/{B}/annotations?name=qupath", Json(collection));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (string)(await ReadJson(created))["id"]!;
        var dsa = (await ReadJson(await client.GetAsync($"/api/v1/annotations/{id}")))["annotation"]!;
        Assert.Equal("qupath", (string)dsa["name"]!);
        var elements = dsa["elements"]!.AsArray();
        Assert.Equal(["polyline", "point", "polyline"], elements.Select(e => (string)e!["type"]!).ToArray());
        Assert.True((bool)elements[0]!["closed"]!);
        Assert.Single(elements[0]!["holes"]!.AsArray());
        Assert.Equal("Tumor", (string)elements[0]!["label"]!["value"]!);

        var export = await client.GetAsync($"/api/v1/annotations/{id}?format=geojson");
        Assert.Equal("application/geo+json", export.Content.Headers.ContentType!.MediaType);
        var features = (await ReadJson(export))["features"]!.AsArray();
        Assert.Equal(["Polygon", "Point", "LineString"], features.Select(f => (string)f!["geometry"]!["type"]!).ToArray());
        Assert.Equal(2, features[0]!["geometry"]!["coordinates"]!.AsArray().Count);
        Assert.Equal("Tumor", (string)features[0]!["properties"]!["classification"]!["name"]!);
    }

    public static TheoryData<string, string> MalformedDocuments() => new()
    {
        { """{"elements":[]}""", "name" },
        { """{"name":"x"}""", "elements" },
        { """{"name":"x","elements":[{"center":[1,2]}]}""", "elements[0].type" },
        { """{"name":"x","elements":[{"type":"hexagon"}]}""", "elements[0].type" },
        { """{"name":"x","elements":[{"type":"point"}]}""", "elements[0].center" },
        { """{"name":"x","elements":[{"type":"point","center":["a",2]}]}""", "elements[0].center[0]" },
        { """{"name":"x","elements":[{"type":"rectangle","center":[1,2],"height":3}]}""", "elements[0].width" },
        { """{"name":"x","elements":[{"type":"rectangle","center":[1,2],"width":-1,"height":3}]}""", "elements[0].width" },
        { """{"name":"x","elements":[{"type":"circle","center":[1,2]}]}""", "elements[0].radius" },
        { """{"name":"x","elements":[{"type":"ellipse","center":[1,2],"width":3}]}""", "elements[0].height" },
        { """{"name":"x","elements":[{"type":"polyline","points":[[1,2]]}]}""", "elements[0].points" },
        { """{"name":"x","elements":[{"type":"polyline","points":[[1,2],[3,"y"]]}]}""", "elements[0].points[1][1]" },
        { """{"name":"x","elements":[{"type":"polyline","points":[[1,2],[3,4]],"closed":"yes"}]}""", "elements[0].closed" },
        { """{"name":"x","elements":[{"type":"polyline","points":[[1,2],[3,4],[5,6]],"holes":[[[1,1],[2,2]]]}]}""", "elements[0].holes[0]" },
        { """{"name":"x","elements":[{"type":"heatmap","points":[[1,2,0]]}]}""", "elements[0].points[0]" },
        { """{"name":"x","elements":[{"type":"griddata","values":[1,2]}]}""", "elements[0].gridWidth" },
        { """{"name":"x","elements":[{"type":"griddata","gridWidth":2}]}""", "elements[0].values" },
        { """{"name":"x","elements":[{"type":"point","center":[1,2],"label":"oops"}]}""", "elements[0].label" },
        { """{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Circle","coordinates":[1,2]}}]}""", "features[0].geometry.type" },
        { """{"name":"x","elements":[}""", "body" },
        { "[1,2]", "body" },
    };

    [SkippableTheory]
    [MemberData(nameof(MalformedDocuments))]
    public async Task Malformed_annotations_are_400s_naming_the_field_and_store_nothing(string body, string field)
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var client = host.Client();
        var response = await client.PostAsync($"/api/v1/slides/{A}/annotations", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (string)(await ReadJson(response))["error"]!;
        Assert.StartsWith(field + ":", error, StringComparison.Ordinal);
        Assert.Empty((await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/annotations"))).AsArray());
    }

    [SkippableFact]
    public async Task Oversized_documents_traversal_and_bad_parameters_are_4xx_with_a_message()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase(), maxAnnotationBytes: 4096);
        var client = host.Client();
        var big = new JsonObject { ["name"] = "big", ["elements"] = new JsonArray([.. Enumerable.Range(0, 200).Select(i => (JsonNode)Rectangle(i, i))]) };
        var tooBig = await client.PostAsync($"/api/v1/slides/{A}/annotations", Json(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("4096-byte limit", (string)(await ReadJson(tooBig))["error"]!, StringComparison.Ordinal);
        Assert.Empty((await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/annotations"))).AsArray());

        foreach (var probe in new[] { "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a.svs", "alpha%2Fa.svs", Data.Alpha.Replace("/", "%2F", StringComparison.Ordinal) + "%2Fa.svs" })
        {
            var r = await client.GetAsync($"/api/v1/slides/{probe}/dzi");
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(text.Contains("not found", StringComparison.Ordinal), $"{probe}: '{text}'");
        }
        // Dot segments are removed by the server before routing: they never reach a slide.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/slides/%2E%2E/dzi")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{A}/associated/..%2F..%2Fb.tif")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/slides/{A}/overlays/..%2Fa.heatmap.tif/dzi")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/annotations/..%2F..%2Fetc")).StatusCode);

        foreach (var (query, field) in new[]
        {
            ("x=a&y=0&width=10&height=10", "x"), ("x=0&y=0&width=10", "height"), ("x=0&y=0&width=0&height=10", "width"),
            ("x=0&y=0&width=10&height=10&level=9", "level"), ("x=0&y=0&width=10&height=10&mpp=-1", "mpp"),
            ("x=0&y=0&width=10&height=10&format=gif", "format"), ("x=0&y=0&width=1200&height=900&level=0", "width/height"),
            ("x=99999&y=0&width=10&height=10", "x"),
        })
        {
            var r = await client.GetAsync($"/api/v1/slides/{A}/region?{query}");
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{query}: {r.StatusCode}");
            Assert.StartsWith(field + ":", (string)(await ReadJson(r))["error"]!, StringComparison.Ordinal);
        }
        Assert.StartsWith("tile:", (string)(await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/dzi_files/3/x_y.jpeg")))["error"]!, StringComparison.Ordinal);
        Assert.StartsWith("level:", (string)(await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/dzi_files/-1/0_0.jpeg")))["error"]!, StringComparison.Ordinal);
        Assert.StartsWith("max:", (string)(await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/thumbnail?max=0")))["error"]!, StringComparison.Ordinal);
        Assert.StartsWith("left:", (string)(await ReadJson(await client.GetAsync($"/api/v1/slides/{A}/annotations?left=q&top=0&right=1&bottom=1")))["error"]!, StringComparison.Ordinal);
        var created = await client.PostAsync($"/api/v1/slides/{A}/annotations", Json(new JsonObject { ["name"] = "n", ["elements"] = new JsonArray() }));
        var id = (string)(await ReadJson(created))["id"]!;
        Assert.StartsWith("If-Match:", (string)(await ReadJson(await Send(client, HttpMethod.Put, $"/api/v1/annotations/{id}", new JsonObject { ["name"] = "n", ["elements"] = new JsonArray() }, "abc")))["error"]!, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_restart_keeps_every_committed_annotation_and_does_not_migrate_again()
    {
        var database = NewDatabase();
        string id;
        await using (var first = await ArchiveHost.StartAsync(Data, database))
        {
            Assert.Equal([1, 2, 3], first.Server.Archive.MigrationsApplied);
            var created = await first.Client().PostAsync($"/api/v1/slides/{B}/annotations", Json(new JsonObject { ["name"] = "kept", ["elements"] = new JsonArray(Rectangle(10, 10)) }));
            id = (string)(await ReadJson(created))["id"]!;
            await Send(first.Client(), HttpMethod.Put, $"/api/v1/annotations/{id}", new JsonObject { ["name"] = "kept v2", ["elements"] = new JsonArray(Rectangle(20, 20)) }, "1");
        }
        await using var second = await ArchiveHost.StartAsync(Data, database);
        Assert.Empty(second.Server.Archive.MigrationsApplied);
        var got = await ReadJson(await second.Client().GetAsync($"/api/v1/annotations/{id}"));
        Assert.Equal(2, (int)got["version"]!);
        Assert.Equal("kept v2", (string)got["annotation"]!["name"]!);
    }

    [SkippableFact]
    public async Task Tokens_are_stored_hashed_and_grant_their_role_in_their_collection()
    {
        var database = NewDatabase();
        var token = await ArchiveTokens.CreateAsync(database, ArchiveRole.Annotate, "beta");
        Assert.StartsWith("hs_", token, StringComparison.Ordinal);
        await using var host = await ArchiveHost.StartAsync(Data, database);
        await using (var repository = new Histoscale.Archive.Data.SqlArchiveRepository(Histoscale.Archive.Data.ArchiveDatabase.Open(database)))
        {
            Assert.Null(await repository.FindTokenAsync(token, CancellationToken.None));
            Assert.NotNull(await repository.FindTokenAsync(ArchiveTokens.Hash(token), CancellationToken.None));
        }
        var client = host.Client(token);
        var slides = (await ReadJson(await client.GetAsync("/api/v1/slides"))).AsArray();
        Assert.All(slides, s => Assert.Equal("beta", (string)s!["collection"]!));
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/api/v1/slides/{B}/annotations", Json(new JsonObject { ["name"] = "n", ["elements"] = new JsonArray() }))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/v1/slides/{A}/annotations", Json(new JsonObject { ["name"] = "n", ["elements"] = new JsonArray() }))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("hs_not-a-token").GetAsync("/api/v1/slides")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(null).GetAsync("/api/v1/slides")).StatusCode);
    }

    [SkippableFact]
    public async Task The_openapi_document_lists_every_api_endpoint()
    {
        await using var host = await ArchiveHost.StartAsync(Data, NewDatabase());
        var document = await ReadJson(await host.Client(null).GetAsync("/api/v1/openapi.json"));
        Assert.Equal("3.1.0", (string)document["openapi"]!);
        var paths = document["paths"]!.AsObject();
        foreach (var path in new[] { "/slides", "/slides/{id}/dzi", "/slides/{id}/dzi_files/{level}/{tile}", "/slides/{id}/tiles/zxy/{z}/{x}/{y}", "/slides/{id}/region", "/slides/{id}/annotations", "/annotations/{id}", "/annotations/{id}/history", "/models", "/slides/scan" })
        {
            Assert.True(paths.ContainsKey(path), path);
        }
        Assert.Equal("annotate", (string)paths["/annotations/{id}"]!["put"]!["x-histoscale-role"]!);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(null).GetAsync("/api/v1/docs")).StatusCode);
    }
}

/// <summary>The API suite on SQLite (the default database).</summary>
public sealed class SqliteArchiveApiTests(DataFixture fixture) : ArchiveApiContract(fixture)
{
    protected override string NewDatabase() => Databases.NewSqlite(Data.Root);
}

/// <summary>The API suite on a real PostgreSQL server (skipped with a message when none is configured).</summary>
public sealed class PostgresArchiveApiTests(DataFixture fixture) : ArchiveApiContract(fixture)
{
    protected override string NewDatabase()
    {
        Skip.If(Databases.PostgresServer is null, Databases.SkipReason);
        return Databases.NewPostgres();
    }
}
