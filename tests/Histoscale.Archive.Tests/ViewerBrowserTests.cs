using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Microsoft.Playwright;

namespace Histoscale.Archive.Tests;

/// <summary>
/// The web viewer in a real headless Chromium (Debian's, driven by Playwright): the token is taken from the URL and
/// dropped from it, tiles appear, the heatmap toggles on, a drawn rectangle is saved through the API and is still
/// there after a reload. Screenshots go to screenshots/ next to the test binaries.
/// </summary>
public sealed class ViewerBrowserTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    [SkippableFact]
    public async Task Open_view_toggle_heatmap_draw_rectangle_reload()
    {
        Skip.IfNot(File.Exists(Chromium), $"browser test skipped: {Chromium} is not installed (Debian package 'chromium'; .ci/run installs it)");
        var shots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        await using var host = await ArchiveHost.StartAsync(fixture.Data, Databases.NewSqlite(fixture.Data.Root));
        var id = SlideCatalog.IdOf("alpha", "a.svs");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 750 } });
        var problems = new List<string>();
        page.PageError += (_, e) => problems.Add(e);

        // The slide list, with the token from the URL.
        await page.GotoAsync($"{host.BaseAddress}?token={ArchiveHost.AdminToken}");
        await page.WaitForSelectorAsync($"li.slide[data-slide-id='{id}'] img[src^='blob:']");
        Assert.DoesNotContain("token=", page.Url, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "1-slide-list.png") });

        // The viewer: tiles appear (the token now comes from session storage).
        await page.GotoAsync($"{host.BaseAddress}viewer/{id}");
        await page.WaitForFunctionAsync("() => document.body.dataset.ready === 'true' && Number(document.body.dataset.tilesLoaded || 0) > 0");
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "2-viewer.png") });

        // The heatmap overlay, toggled on: its tiles load too.
        var before = int.Parse(await page.EvaluateAsync<string>("() => document.body.dataset.tilesLoaded"), System.Globalization.CultureInfo.InvariantCulture);
        await page.CheckAsync(".overlay .toggle");
        await page.WaitForFunctionAsync($"() => document.body.dataset.overlaysShown === '1' && Number(document.body.dataset.tilesLoaded) > {before}");
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "3-heatmap.png") });

        // Draw a rectangle: it is saved through the API.
        await page.ClickAsync("#draw-rect");
        var box = (await page.Locator("#osd .openseadragon-canvas").First.BoundingBoxAsync())!;
        var (x, y) = (box.X + (box.Width * 0.4f), box.Y + (box.Height * 0.4f));
        await page.Mouse.MoveAsync(x, y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(x + 120, y + 80, new() { Steps = 6 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("() => document.body.dataset.annotationElements === '1'");
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "4-drawn.png") });

        // Reload: still there, drawn from the database.
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => document.body.dataset.ready === 'true' && document.body.dataset.annotationElements === '1'");
        Assert.Equal(1, await page.Locator("#annotation-layer rect.element-rectangle").CountAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "5-reloaded.png") });
        Assert.Empty(problems);

        var stored = JsonNode.Parse(await host.Client().GetStringAsync($"/api/v1/slides/{id}/annotations"))!.AsArray();
        var element = Assert.Single(Assert.Single(stored)!["annotation"]!["elements"]!.AsArray())!;
        Assert.Equal("rectangle", (string)element["type"]!);
        Assert.True((double)element["width"]! > 0 && (double)element["height"]! > 0);
        Assert.Equal("region", (string)element["label"]!["value"]!);
    }

    /// <summary>
    /// Run model: the job's progress is shown and its heatmap appears, shown, when it completes. Then a polygon drawn
    /// by clicking its vertices (Enter finishes) is saved as a closed polyline, selected in the list, relabelled and
    /// recoloured (a PUT with If-Match), and deleted.
    /// </summary>
    [SkippableFact]
    public async Task Run_a_model_then_draw_a_polygon_edit_and_delete_it()
    {
        Skip.IfNot(File.Exists(Chromium), $"browser test skipped: {Chromium} is not installed (Debian package 'chromium'; .ci/run installs it)");
        var shots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
        await using var host = await ArchiveHost.StartAsync(fixture.Data, Databases.NewSqlite(fixture.Data.Root), models: TestModels.Repository(fixture.Data.Root));
        var id = SlideCatalog.IdOf("beta", "b.tif");
        var api = host.Client();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 750 } });
        var problems = new List<string>();
        page.PageError += (_, e) => problems.Add(e);
        await page.GotoAsync($"{host.BaseAddress}viewer/{id}?token={ArchiveHost.AdminToken}");
        await page.WaitForFunctionAsync("() => document.body.dataset.ready === 'true' && Number(document.body.dataset.tilesLoaded || 0) > 0");
        Assert.Equal("0", await page.EvaluateAsync<string>("() => document.body.dataset.overlays"));

        // Run the model: the job completes and its heatmap is listed and shown.
        Assert.Equal(TestModels.Tissue, await page.InputValueAsync("#model"));
        await page.ClickAsync("#run-model");
        await page.WaitForFunctionAsync("() => document.body.dataset.jobState === 'completed' && document.body.dataset.overlays === '1' && document.body.dataset.overlaysShown === '1'",
            null, new() { Timeout = 120_000 });
        Assert.Contains("completed", await page.TextContentAsync("#job-status"), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "6-job-heatmap.png") });
        var job = JsonNode.Parse(await api.GetStringAsync($"/api/v1/jobs?slideId={id}"))!.AsArray().Single()!;
        Assert.Equal("completed", (string)job["state"]!);

        // Draw a polygon: four clicks, Enter.
        var drawnBefore = await page.Locator("#annotation-layer polygon.element-polyline").CountAsync();
        await page.ClickAsync("#draw-polygon");
        var box = (await page.Locator("#osd .openseadragon-canvas").First.BoundingBoxAsync())!;
        var (x, y) = (box.X + (box.Width * 0.35f), box.Y + (box.Height * 0.35f));
        foreach (var (dx, dy) in new[] { (0, 0), (140, 10), (120, 110), (10, 90) })
        {
            await page.Mouse.ClickAsync(x + dx, y + dy);
        }
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#annotation-layer polygon.element-polyline').length === {drawnBefore + 1} && document.querySelector('#status').textContent === 'saved'");
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "7-polygon.png") });
        var (drawnId, polygon) = await DrawnAsync(api, id);
        Assert.True((bool)polygon!["closed"]!);
        Assert.Equal(4, polygon["points"]!.AsArray().Count);

        // Select it in the list, relabel and recolour it.
        await page.ClickAsync($"#annotation-list li.element[data-annotation='{drawnId}'][data-index='0']");
        await page.FillAsync("#selected-label", "tumour");
        await page.FillAsync("#selected-colour", "#ff0000");
        await page.ClickAsync("#selected-apply");
        await page.WaitForFunctionAsync($"() => [...document.querySelectorAll(\"#annotation-list li.element[data-annotation='{drawnId}']\")].some(e => e.textContent.includes('tumour'))");
        var (_, edited) = await DrawnAsync(api, id);
        Assert.Equal("tumour", (string)edited!["label"]!["value"]!);
        Assert.Equal("#ff0000", (string)edited["lineColor"]!);
        Assert.Equal(2, (int)JsonNode.Parse(await api.GetStringAsync($"/api/v1/annotations/{drawnId}"))!["version"]!);

        // Delete it.
        await page.ClickAsync($"#annotation-list li.element[data-annotation='{drawnId}'][data-index='0']");
        await page.ClickAsync("#selected-delete");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll(\"#annotation-list li.element[data-annotation='{drawnId}']\").length === 0");
        Assert.Empty(JsonNode.Parse(await api.GetStringAsync($"/api/v1/annotations/{drawnId}"))!["annotation"]!["elements"]!.AsArray());
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "8-deleted.png") });
        Assert.Empty(problems);
    }

    private static async Task<(string Id, JsonNode? First)> DrawnAsync(HttpClient api, string slide)
    {
        var drawn = JsonNode.Parse(await api.GetStringAsync($"/api/v1/slides/{slide}/annotations"))!.AsArray()
            .Single(a => (string)a!["annotation"]!["name"]! == "Drawn in the viewer")!;
        var elements = drawn["annotation"]!["elements"]!.AsArray();
        return ((string)drawn["id"]!, elements.Count > 0 ? elements[0] : null);
    }
}
