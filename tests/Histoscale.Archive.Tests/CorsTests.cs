using System.Net;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;

namespace Histoscale.Archive.Tests;

/// <summary>
/// CORS: off by default (no CORS headers, preflights not answered with any); with configured origins, those origins
/// (and only those) get Access-Control-Allow-Origin on every API answer, errors included, and preflights list the
/// methods and headers the API uses; a malformed origin is refused at start.
/// </summary>
public sealed class CorsTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private const string Allowed = "http://viewer.test:3000";

    private async Task<ArchiveServer> StartAsync(IReadOnlyList<string> origins) => await ArchiveServer.StartAsync(new ArchiveOptions
    {
        Collections = fixture.Data.Collections,
        Database = Databases.NewSqlite(fixture.Data.Root),
        AdminToken = ArchiveHost.AdminToken,
        CorsOrigins = origins,
    }, "127.0.0.1", 0);

    private static async Task<HttpResponseMessage> SendAsync(ArchiveServer server, HttpMethod method, string path, string origin, bool token = true, string? preflightMethod = null)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Origin", origin);
        if (token)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + ArchiveHost.AdminToken);
        }
        if (preflightMethod is not null)
        {
            request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", preflightMethod);
            request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "authorization, if-match");
        }
        return await client.SendAsync(request);
    }

    private static string? AllowOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? string.Join(",", values) : null;

    [Fact]
    public async Task Off_by_default()
    {
        await using var server = await StartAsync([]);
        var get = await SendAsync(server, HttpMethod.Get, "/api/v1/slides", Allowed);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Null(AllowOrigin(get));
        var preflight = await SendAsync(server, HttpMethod.Options, "/api/v1/slides", Allowed, token: false, preflightMethod: "GET");
        Assert.Null(AllowOrigin(preflight));
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task Configured_origins_only_get_the_headers_on_every_answer_and_preflight()
    {
        await using var server = await StartAsync([Allowed + "/", "https://other.test"]);
        var a = SlideCatalog.IdOf("alpha", "a.svs");
        var get = await SendAsync(server, HttpMethod.Get, $"/api/v1/slides/{a}", Allowed);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(Allowed, AllowOrigin(get));
        Assert.Contains("Origin", get.Headers.Vary);
        Assert.Contains("ETag", string.Join(",", get.Headers.GetValues("Access-Control-Expose-Headers")), StringComparison.Ordinal);

        // An error answer carries it too, so the page can read why.
        var unauthorised = await SendAsync(server, HttpMethod.Get, "/api/v1/slides", Allowed, token: false);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised.StatusCode);
        Assert.Equal(Allowed, AllowOrigin(unauthorised));

        var preflight = await SendAsync(server, HttpMethod.Options, "/api/v1/annotations/x", Allowed, token: false, preflightMethod: "PUT");
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(Allowed, AllowOrigin(preflight));
        Assert.Contains("PUT", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        Assert.Contains("If-Match", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.Ordinal);

        // Another origin: no CORS headers, so a browser refuses the answer to its page.
        var stranger = await SendAsync(server, HttpMethod.Get, "/api/v1/slides", "http://evil.test");
        Assert.Null(AllowOrigin(stranger));
        var strangerPreflight = await SendAsync(server, HttpMethod.Options, "/api/v1/slides", "http://evil.test", token: false, preflightMethod: "DELETE");
        Assert.Null(AllowOrigin(strangerPreflight));
        Assert.False(strangerPreflight.Headers.Contains("Access-Control-Allow-Methods"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("viewer.test")]
    [InlineData("http://viewer.test/app")]
    [InlineData("ftp://viewer.test")]
    public async Task A_malformed_origin_is_refused_at_start(string origin)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync([origin]));
        Assert.Contains($"'{origin}'", error.Message, StringComparison.Ordinal);
    }
}
