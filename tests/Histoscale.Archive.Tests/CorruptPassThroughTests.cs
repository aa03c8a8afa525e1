using System.Net;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Histoscale.Slides;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis;

namespace Histoscale.Archive.Tests;

/// <summary>
/// A Deep Zoom tile that is a stored JPEG passed through must not be a garbage image either: a tile whose scan data
/// is scrambled between intact start and end markers (what a corrupt slide usually looks like; the marker check
/// alone lets it through) answers 500 naming the file, level and tile, is not cached, and its neighbours still pass
/// through byte for byte.
/// </summary>
public sealed class CorruptPassThroughTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hs-archive-scrambled-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_passed_through_tile_with_scrambled_scan_data_is_a_500_naming_the_tile_never_an_image()
    {
        var slides = Directory.CreateDirectory(Path.Combine(_root, "slides")).FullName;
        var path = Path.Combine(slides, "scrambled.tif");
        // 1024×768 in 256-px tiles: Deep Zoom level 10 is level 0, and its interior tiles are the stored JPEGs.
        SlideSynthesizer.Write(path, new SynthOptions { Width = 1024, Height = 768, TileSize = 256, Layout = SynthLayout.Tiff, Seed = 4, MaxDegreeOfParallelism = 2 });
        var bytes = File.ReadAllBytes(path);
        TileDamage.ScrambleJpegScan(bytes, (1 * 4) + 1, seed: 7); // level 0 tile (1,1), start and end markers intact
        File.WriteAllBytes(path, bytes);
        using (var slide = Slide.Open(path))
        {
            // The stored bytes still look like a whole JPEG (what the pass-through checked), but do not decode.
            var stored = slide.ReadStoredJpegTile(0, 1, 1);
            Assert.NotNull(stored);
            Assert.Equal(((byte)0xFF, (byte)0xD9), (stored[^2], stored[^1]));
            Assert.Throws<SlideException>(() => slide.ReadTile(0, 1, 1));
        }

        var options = new ArchiveOptions
        {
            Collections = [new ArchiveCollection("gamma", slides)],
            Database = Databases.NewSqlite(_root),
            AdminToken = ArchiveHost.AdminToken,
            TileCacheBytes = 8 << 20,
        };
        await using var server = await ArchiveServer.StartAsync(options, "127.0.0.1", 0);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        var id = SlideCatalog.IdOf("gamma", "scrambled.tif");

        for (var attempt = 0; attempt < 2; attempt++)
        {
            // Twice: a failed tile is not cached as an image either.
            var response = await client.GetAsync($"/api/v1/slides/{id}/dzi_files/10/1_1.jpeg");
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.NotEqual("image/jpeg", response.Content.Headers.ContentType?.MediaType);
            var error = (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
            Assert.Contains("scrambled.tif", error, StringComparison.Ordinal);
            Assert.Contains("level 0 tile (1,1)", error, StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("X-Tile-Cache"));
        }

        var neighbour = await client.GetAsync($"/api/v1/slides/{id}/dzi_files/10/2_1.jpeg");
        Assert.Equal(HttpStatusCode.OK, neighbour.StatusCode);
        Assert.Equal("stored", neighbour.Headers.GetValues("X-Tile-Source").Single());
        using var check = Slide.Open(path);
        Assert.Equal(check.ReadStoredJpegTile(0, 2, 1), await neighbour.Content.ReadAsByteArrayAsync());
    }
}
