using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Histoscale.Archive.Tests;

/// <summary>
/// A real <c>histoscale serve</c> child process killed with SIGKILL while it writes large annotation versions: the
/// SQLite database passes its integrity check, opens without migrating, and the annotation is exactly one whole
/// version (the last acknowledged one, or the one in flight if its commit landed): its document, its history
/// and its element rows all from that one version, nothing half-written.
/// </summary>
public sealed class KillDuringWriteTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private const int Elements = 20_000;

    [Fact]
    public async Task Kill_9_mid_write_leaves_the_last_whole_version()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "histoscale");
        Assert.True(File.Exists(cli), $"{cli} missing (the test project references Histoscale.Cli)");
        var database = Databases.NewSqlite(fixture.Data.Root);
        var port = FreePort();
        var start = new ProcessStartInfo(cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { "serve", "--slides", "alpha=" + fixture.Data.Alpha, "--db", database, "--host", "127.0.0.1", "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        start.Environment["HISTOSCALE_ADMIN_TOKEN"] = ArchiveHost.AdminToken;
        using var serve = Process.Start(start)!;
        var slide = SlideCatalog.IdOf("alpha", "a.svs");
        string id;
        var acknowledged = 1;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(2) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
            await WaitForServerAsync(client, serve);
            var created = await client.PostAsync($"/api/v1/slides/{slide}/annotations", Body(1));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;

            // Write versions one after another; after a few, kill the server while the next one is being written.
            for (var version = 2; ; version++)
            {
                using var put = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/annotations/{id}") { Content = Body(version) };
                put.Headers.TryAddWithoutValidation("If-Match", $"\"{version - 1}\"");
                var sending = client.SendAsync(put);
                if (version == 5)
                {
                    // The request is on its way (20 000 elements: parsing, validating and the transaction take a while).
                    await Task.Delay(Random.Shared.Next(20, 300));
                    serve.Kill(entireProcessTree: true);
                    await serve.WaitForExitAsync();
                    try
                    {
                        var response = await sending;
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            acknowledged = version;
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // Killed before it answered.
                    }
                    break;
                }
                var ok = await sending;
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                acknowledged = version;
            }
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
            }
        }

        // The file is a sound database.
        await using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string)(await check.ExecuteScalarAsync())!);
        }

        // It opens without migrating, and the annotation is one whole version.
        await using var archive = await SlideArchive.OpenAsync(new ArchiveOptions { Collections = fixture.Data.Collections, Database = database });
        Assert.Empty(archive.MigrationsApplied);
        var record = (await archive.Repository.GetAnnotationAsync(id, default))!;
        Assert.InRange(record.Version, acknowledged, acknowledged + 1);
        var document = JsonNode.Parse(record.Document)!;
        var labels = document["elements"]!.AsArray().Select(e => (string)e!["label"]!["value"]!).Distinct().ToList();
        Assert.Equal([$"v{record.Version}"], labels);
        Assert.Equal(Elements, document["elements"]!.AsArray().Count);
        var history = await archive.Repository.HistoryAsync(id, default);
        Assert.Equal(Enumerable.Range(1, record.Version), history.Select(h => h.Version));
        Assert.All(history, h => Assert.Equal(Elements, JsonNode.Parse(h.Document)!["elements"]!.AsArray().Count));
        var rows = await archive.Repository.ElementsInBoxAsync(id, double.MinValue, double.MinValue, double.MaxValue, double.MaxValue, default);
        Assert.Equal(Elements, rows.Count);
        Assert.All(rows, r => Assert.Contains($"\"v{record.Version}\"", r.Json, StringComparison.Ordinal));
    }

    private static StringContent Body(int version)
    {
        var json = new StringBuilder("{\"name\":\"kill test\",\"elements\":[");
        for (var i = 0; i < Elements; i++)
        {
            json.Append(i == 0 ? "" : ",").Append("{\"type\":\"point\",\"center\":[").Append(i % 1000).Append(',').Append(i / 1000).Append(",0],\"label\":{\"value\":\"v").Append(version).Append("\"}}");
        }
        return new StringContent(json.Append("]}").ToString(), Encoding.UTF8, "application/json");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForServerAsync(HttpClient client, Process serve)
    {
        for (var i = 0; i < 600; i++)
        {
            if (serve.HasExited)
            {
                Assert.Fail($"serve exited early: {await serve.StandardError.ReadToEndAsync()}");
            }
            try
            {
                if ((await client.GetAsync("/api/v1/slides")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("serve did not start in 60 s");
    }
}
