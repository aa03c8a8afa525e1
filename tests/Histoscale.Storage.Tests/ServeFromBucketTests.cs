using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Histoscale.Archive;
using Histoscale.Cli;
using Histoscale.Storage.Tests.Support;
using Histoscale.Synthesis;

namespace Histoscale.Storage.Tests;

/// <summary>
/// <c>serve --slides s3://bucket/prefix</c> (az://, gs://): a bucket prefix served as an archive collection gives the
/// same listing, Deep Zoom tiles and regions as the same slides in a local folder; rescans list it again.
/// </summary>
public sealed class ServeFromBucketTests : IDisposable
{
    private const string Admin = "remote-admin-token";
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-serve-bucket-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private byte[] Synthesise(string name, int seed)
    {
        var path = Path.Combine(_dir, "synth", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SlideSynthesizer.Write(path, new SynthOptions { Width = 1300, Height = 900, TileSize = 256, Seed = seed, MaxDegreeOfParallelism = 2 });
        return File.ReadAllBytes(path);
    }

    private Task<ArchiveServer> Start(params ArchiveCollection[] collections)
    {
        var host = HostContext.FromEnvironment(); // after Stores.Require, which points the SDKs at the emulators
        return ArchiveServer.StartAsync(new ArchiveOptions
        {
            Collections = collections,
            Database = Path.Combine(_dir, $"archive-{Guid.NewGuid():N}.sqlite"),
            AdminToken = Admin,
            SlideOptions = host.Slides,
            RemoteSlides = new RemoteSlideStore(host.ObjectStores),
        }, "127.0.0.1", 0);
    }

    private static HttpClient Client(ArchiveServer server, string? token = Admin)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    private static async Task<Dictionary<string, JsonElement>> Slides(HttpClient client, string collection)
    {
        var list = await client.GetFromJsonAsync<JsonElement>($"/api/v1/slides?collection={collection}");
        return list.EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.Clone());
    }

    private static async Task<byte[]> Bytes(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>What a client sees of a slide: its description, Deep Zoom XML, a full-resolution tile, a PNG region.</summary>
    private static async Task<List<byte[]>> Views(HttpClient client, JsonElement slide)
    {
        var id = slide.GetProperty("id").GetString();
        var dzi = await Bytes(client, $"/api/v1/slides/{id}/dzi");
        var top = (int)Math.Ceiling(Math.Log2(Math.Max(slide.GetProperty("width").GetInt64(), slide.GetProperty("height").GetInt64())));
        return
        [
            System.Text.Encoding.UTF8.GetBytes($"{slide.GetProperty("width")}x{slide.GetProperty("height")} {slide.GetProperty("levels")} {slide.GetProperty("mppX")}"),
            dzi,
            await Bytes(client, $"/api/v1/slides/{id}/dzi_files/{top}/1_1.jpeg"),
            await Bytes(client, $"/api/v1/slides/{id}/region?x=200&y=150&width=400&height=300&level=0&format=png"),
        ];
    }

    private static void AssertSame(List<byte[]> expected, List<byte[]> actual, string what)
    {
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"{what}: view {i} differs from the local folder's");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task APrefixServesLikeTheLocalFolderAndRescansSeeAddedAndReplacedObjects(string store)
    {
        Stores.Require(store);
        var prefix = $"serve-{Guid.NewGuid():N}/cases";
        var local = Directory.CreateDirectory(Path.Combine(_dir, "local", "cases")).FullName;
        var first = Synthesise("first.svs", 41);
        File.WriteAllBytes(Path.Combine(local, "a.svs"), first);
        Stores.Put(store, prefix + "/a.svs", first);

        await using var server = await Start(new ArchiveCollection("local", local), new ArchiveCollection("remote", Stores.Uri(store, prefix)));
        using var client = Client(server);
        var remote = await Slides(client, "remote");
        Assert.Equal(["a.svs"], remote.Keys);
        var id = remote["a.svs"].GetProperty("id").GetString();
        var localA = (await Slides(client, "local"))["a.svs"];
        var before = await Views(client, remote["a.svs"]);
        AssertSame(await Views(client, localA), before, "a.svs");

        // The remote collection keeps the authorisation rules: no token, no slides, no tiles.
        using (var anonymous = Client(server, token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/slides?collection=remote")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/v1/slides/{id}/dzi")).StatusCode);
        }

        // An added object appears on rescan; a replaced one (same key) is reopened and gives the new slide's tiles.
        var second = Synthesise("second.svs", 42);
        Stores.Put(store, prefix + "/more/b.svs", second);
        Stores.Put(store, prefix + "/a.svs", second);
        File.WriteAllBytes(Path.Combine(local, "a.svs"), second);
        var scan = await client.PostAsync("/api/v1/slides/scan", null);
        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        remote = await Slides(client, "remote");
        Assert.Equal(["a.svs", "b.svs"], remote.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(id, remote["a.svs"].GetProperty("id").GetString());
        localA = (await Slides(client, "local"))["a.svs"];
        var replaced = await Views(client, remote["a.svs"]);
        AssertSame(await Views(client, localA), replaced, "replaced a.svs");
        Assert.False(before[3].AsSpan().SequenceEqual(replaced[3]), "the replaced object must not be served from the old slide's tiles");
    }

    [SkippableTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public async Task AMissingBucketIsAStartupErrorNamingTheUrl(string store)
    {
        Stores.Require(store);
        var url = $"{store}://histoscale-missing-{Guid.NewGuid():N}/cases";
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Start(new ArchiveCollection("gone", url)));
        Assert.Contains(url, ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot list", ex.Message, StringComparison.Ordinal); // the store's answer, not a refusal of remote roots
    }

    [SkippableFact]
    public async Task ServeWithAMissingBucketExits2WithOneLineNamingTheUrl()
    {
        Stores.Require("s3");
        var url = $"s3://histoscale-missing-{Guid.NewGuid():N}/cases";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), ["serve", "--slides", "gone=" + url, "--db", Path.Combine(_dir, "cli.sqlite"), "--http-port", "0"], stdout, stderr);
        Assert.Equal(2, code);
        Assert.Contains(url, stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("cannot list", stderr.ToString(), StringComparison.Ordinal);
    }
}
