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
}
