using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive.Api;

/// <summary>
/// The web viewer, served from resources embedded in this assembly (wwwroot): the slide list at <c>/</c>, the
/// viewer at <c>/viewer/{id}</c>, and its scripts (ours and OpenSeadragon's) under <c>/static/</c>. The pages hold
/// no data; they call the API with the caller's token.
/// </summary>
internal static class ViewerEndpoints
{
    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".png"] = "image/png",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary();

    public static void Map(IEndpointRouteBuilder app)
    {
        var assembly = typeof(ViewerEndpoints).Assembly;
        var files = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal))
            .ToFrozenDictionary(n => n["wwwroot/".Length..], n => n, StringComparer.Ordinal);

        IResult Serve(HttpContext c, string path)
        {
            if (!files.TryGetValue(path, out var resource) || !Types.TryGetValue(Path.GetExtension(path), out var type))
            {
                return Results.NotFound();
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            c.Response.Headers.CacheControl = path.StartsWith("vendor/", StringComparison.Ordinal) ? "public, max-age=86400" : "no-cache";
            c.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(copy.ToArray(), type);
        }

        app.MapGet("/", (Func<HttpContext, IResult>)(c => Serve(c, "index.html")));
        app.MapGet("/viewer/{id}", (HttpContext c, string id) => Serve(c, "viewer.html"));
        app.MapGet("/static/{**path}", (HttpContext c, string path) => Serve(c, path));
    }
}
