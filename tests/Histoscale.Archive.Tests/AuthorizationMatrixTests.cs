using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;

namespace Histoscale.Archive.Tests;

/// <summary>
/// Every API endpoint (read from the OpenAPI document, so a new endpoint is covered without editing this test) ×
/// every kind of caller × a slide in each collection: allowed exactly when the caller's role in that slide's
/// collection is at least the endpoint's role; otherwise 401 without valid credentials, 403 with them.
/// </summary>
public sealed class AuthorizationMatrixTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private sealed record Who(string Name, string? Token, ArchiveRole? Role, string? Collection);

    [Fact]
    public async Task Every_endpoint_by_role_and_collection()
    {
        var database = Databases.NewSqlite(fixture.Data.Root);
        var callers = new List<Who>
        {
            new("anonymous", null, null, null),
            new("bad token", "hs_forged", null, null),
            new("admin (bootstrap)", ArchiveHost.AdminToken, ArchiveRole.Admin, null),
        };
        foreach (var role in new[] { ArchiveRole.Read, ArchiveRole.Annotate, ArchiveRole.Admin })
        {
            callers.Add(new($"{role} in alpha", await ArchiveTokens.CreateAsync(database, role, "alpha"), role, "alpha"));
            callers.Add(new($"{role} everywhere", await ArchiveTokens.CreateAsync(database, role, null), role, null));
        }
        await using var host = await ArchiveHost.StartAsync(fixture.Data, database, models: TestModels.Repository(fixture.Data.Root));
        var admin = host.Client();
        var document = JsonNode.Parse(await admin.GetStringAsync("/api/v1/openapi.json"))!;
        var slides = new Dictionary<string, string> { ["alpha"] = SlideCatalog.IdOf("alpha", "a.svs"), ["beta"] = SlideCatalog.IdOf("beta", "b.tif") };
        var overlay = (string)JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{slides["alpha"]}/overlays"))![0]!["id"]!;
        // A job per collection for /jobs/{id} (a permitted DELETE cancels it; later ones get 409, which is still "allowed").
        var jobs = new Dictionary<string, string>();
        foreach (var (collection, slide) in slides)
        {
            var submitted = await admin.PostAsync("/api/v1/jobs", new StringContent($$"""{"slideIds":["{{slide}}"],"model":"{{TestModels.Tissue}}"}""", Encoding.UTF8, "application/json"));
            jobs[collection] = (string)JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!;
        }
        var failures = new List<string>();
        var checkedCases = 0;
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var needed = (string?)operation!["x-histoscale-role"] is { } r ? Enum.Parse<ArchiveRole>(r, ignoreCase: true) : (ArchiveRole?)null;
                var collections = path.Contains("{id}", StringComparison.Ordinal) ? new string?[] { "alpha", "beta" } : [null];
                foreach (var collection in collections)
                {
                    foreach (var who in callers)
                    {
                        // A fresh annotation per case: a permitted DELETE or PUT must not change what the next case sees.
                        var annotation = path.StartsWith("/annotations/", StringComparison.Ordinal)
                            ? (string)JsonNode.Parse(await (await admin.PostAsync($"/api/v1/slides/{slides[collection!]}/annotations", Body())).Content.ReadAsStringAsync())!["id"]!
                            : null;
                        var job = path.StartsWith("/jobs/", StringComparison.Ordinal) ? jobs[collection!] : null;
                        var url = "/api/v1" + path
                            .Replace("{id}", annotation ?? job ?? (collection is null ? "" : slides[collection]), StringComparison.Ordinal)
                            .Replace("{level}", "9", StringComparison.Ordinal).Replace("{tile}", path.Contains("overlays", StringComparison.Ordinal) ? "0_0.png" : "0_0.jpeg", StringComparison.Ordinal)
                            .Replace("{z}", "0", StringComparison.Ordinal).Replace("{x}", "0", StringComparison.Ordinal).Replace("{y}", "0", StringComparison.Ordinal)
                            .Replace("{name}", "label", StringComparison.Ordinal).Replace("{overlay}", overlay, StringComparison.Ordinal).Replace("{version}", "1", StringComparison.Ordinal);
                        if (path.EndsWith("/region", StringComparison.Ordinal))
                        {
                            url += "?x=0&y=0&width=64&height=64";
                        }
                        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), url);
                        if (method is "post" or "put")
                        {
                            request.Content = path.EndsWith("/revert", StringComparison.Ordinal) ? new StringContent("{\"version\":1}", Encoding.UTF8, "application/json") : Body();
                        }
                        if (method is "put" || path.EndsWith("/revert", StringComparison.Ordinal))
                        {
                            request.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
                        }
                        using var client = host.Client(who.Token);
                        var status = (await client.SendAsync(request)).StatusCode;
                        var allowed = needed is null || (who.Role >= needed && (who.Collection is null || collection is null || who.Collection == collection));
                        // Listing endpoints without a slide answer a token whose grant lies elsewhere with what it may see.
                        var expected = allowed ? "allowed" : who.Role is null ? "401" : "403";
                        var actual = status is HttpStatusCode.Unauthorized ? "401" : status is HttpStatusCode.Forbidden ? "403" : (int)status < 500 ? "allowed" : $"error {(int)status}";
                        if (expected != actual)
                        {
                            failures.Add($"{method.ToUpperInvariant()} {path} on {collection ?? "-"} as {who.Name}: expected {expected}, got {(int)status}");
                        }
                        checkedCases++;
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(checkedCases > 200, $"only {checkedCases} cases");
    }

    [Fact]
    public async Task Anonymous_read_opens_reading_only()
    {
        await using var host = await ArchiveHost.StartAsync(fixture.Data, Databases.NewSqlite(fixture.Data.Root), anonymousRead: true);
        var anonymous = host.Client(null);
        var a = SlideCatalog.IdOf("alpha", "a.svs");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/v1/slides")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"/api/v1/slides/{a}/dzi_files/9/0_0.jpeg")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync($"/api/v1/slides/{a}/annotations", Body())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("/api/v1/slides/scan", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("hs_forged").GetAsync("/api/v1/slides")).StatusCode);
    }

    private static StringContent Body() => new("""{"name":"m","elements":[{"type":"point","center":[5,5]}]}""", Encoding.UTF8, "application/json");
}
