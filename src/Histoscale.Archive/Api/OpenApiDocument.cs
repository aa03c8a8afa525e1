using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Histoscale.Archive.Api;

/// <summary>
/// The OpenAPI 3.1 document of the archive's REST resources at <c>/api/v1/openapi.json</c>, built from the mapped
/// endpoints themselves (route, method, summary, role), so it cannot drift from what is served; and a plain page
/// listing it at <c>/api/v1/docs</c>.
/// </summary>
internal static class OpenApiDocument
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(ArchiveApi.Prefix + "/openapi.json", (Func<IResult>)(() => Results.Text(Build(app).ToJsonString(), "application/json")))
            .WithMetadata(new ArchiveEndpointInfo("This document", null));
        app.MapGet(ArchiveApi.Prefix + "/docs", (Func<IResult>)(() => Results.Content(Page(Build(app)), "text/html; charset=utf-8")))
            .WithMetadata(new ArchiveEndpointInfo("A browsable list of the API", null));
    }

    internal static IEnumerable<(string Method, string Route, ArchiveEndpointInfo Info)> Endpoints(IEndpointRouteBuilder app) =>
        from source in app.DataSources
        from endpoint in source.Endpoints.OfType<RouteEndpoint>()
        let info = endpoint.Metadata.GetMetadata<ArchiveEndpointInfo>()
        where info is not null && endpoint.RoutePattern.RawText is { } raw && raw.StartsWith(ArchiveApi.Prefix, StringComparison.Ordinal)
        from method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]
        select (method, endpoint.RoutePattern.RawText!, info!);

    private static JsonObject Build(IEndpointRouteBuilder app)
    {
        var paths = new JsonObject();
        foreach (var (method, route, info) in Endpoints(app).OrderBy(e => e.Route, StringComparer.Ordinal))
        {
            var path = route[ArchiveApi.Prefix.Length..];
            if (paths[path] is not JsonObject item)
            {
                paths[path] = item = [];
            }
            var parameters = new JsonArray();
            foreach (var p in RoutePatternFactory.Parse(route).Parameters)
            {
                parameters.Add(new JsonObject { ["name"] = p.Name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
            }
            var operation = new JsonObject
            {
                ["summary"] = info.Summary,
                ["parameters"] = parameters,
                ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" }, ["4XX"] = new JsonObject { ["description"] = "{\"error\": \"what was wrong\"}" } },
            };
            if (info.Role is { } role)
            {
                operation["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() });
                operation["x-histoscale-role"] = role.ToString().ToLowerInvariant();
            }
            item[method.ToLowerInvariant()] = operation;
        }
        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject { ["title"] = "Histoscale slide archive", ["version"] = "1" },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = ArchiveApi.Prefix }),
            ["components"] = new JsonObject { ["securitySchemes"] = new JsonObject { ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" } } },
            ["paths"] = paths,
        };
    }

    private static string Page(JsonObject document)
    {
        var rows = new System.Text.StringBuilder();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, op) in item!.AsObject())
            {
                rows.Append("<tr><td>").Append(method.ToUpperInvariant()).Append("</td><td><code>").Append(System.Net.WebUtility.HtmlEncode(ArchiveApi.Prefix + path))
                    .Append("</code></td><td>").Append(System.Net.WebUtility.HtmlEncode((string?)op!["x-histoscale-role"] ?? "public"))
                    .Append("</td><td>").Append(System.Net.WebUtility.HtmlEncode((string?)op["summary"] ?? "")).Append("</td></tr>");
            }
        }
        return $"<!doctype html><meta charset=utf-8><title>Histoscale archive API</title><h1>Histoscale archive API</h1><p><a href=\"openapi.json\">openapi.json</a></p><table border=1 cellpadding=4><tr><th>method</th><th>path</th><th>role</th><th>what</th></tr>{rows}</table>";
    }
}
