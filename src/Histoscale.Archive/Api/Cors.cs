using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive.Api;

/// <summary>
/// CORS for the REST API, off unless origins are configured (<see cref="ArchiveOptions.CorsOrigins"/>): a request
/// whose <c>Origin</c> is one of them gets <c>Access-Control-Allow-Origin</c> naming it (never <c>*</c>: requests
/// carry a bearer token), and preflight <c>OPTIONS</c> requests under <c>/api/v1</c> are answered with the methods
/// and headers the API uses. Other origins get no CORS headers, so browsers keep refusing them.
/// </summary>
internal static class Cors
{
    public const string Methods = "GET, POST, PUT, DELETE";
    public const string Headers = "Authorization, Content-Type, If-Match, If-None-Match";
    public const string Exposed = "ETag, Location, X-Tile-Source, X-Tile-Cache";

    /// <summary>Adds the headers to every endpoint of <paramref name="group"/> and maps the preflight answer.</summary>
    public static void Apply(RouteGroupBuilder group, IReadOnlyList<string> origins)
    {
        if (origins.Count == 0)
        {
            return;
        }
        var allowed = new HashSet<string>(origins.Select(Normalise), StringComparer.OrdinalIgnoreCase);
        group.AddEndpointFilter(async (context, next) =>
        {
            Allow(context.HttpContext, allowed);
            return await next(context).ConfigureAwait(false);
        });
        group.MapMethods(ArchiveApi.Prefix + "/{**path}", [HttpMethods.Options], (Func<HttpContext, IResult>)(c =>
        {
            if (Allow(c, allowed))
            {
                c.Response.Headers.AccessControlAllowMethods = Methods;
                c.Response.Headers.AccessControlAllowHeaders = Headers;
                c.Response.Headers.AccessControlMaxAge = "600";
            }
            return Results.NoContent();
        }));
    }

    /// <summary>An origin as browsers send it: scheme://host[:port], no path, no trailing slash.</summary>
    public static string Normalise(string origin) => origin.Trim().TrimEnd('/');

    private static bool Allow(HttpContext c, HashSet<string> allowed)
    {
        c.Response.Headers.Vary = "Origin";
        var origin = c.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || !allowed.Contains(origin))
        {
            return false;
        }
        c.Response.Headers.AccessControlAllowOrigin = origin;
        c.Response.Headers.AccessControlExposeHeaders = Exposed;
        return true;
    }
}
