using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Archive.Annotations;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive.Api;

/// <summary>
/// Annotations: DSA documents on a slide, versioned (PUT/DELETE name the version they replace with If-Match; a stale
/// one is 409), with their history and revert, element queries by bounding box, and GeoJSON import and export.
/// </summary>
internal static class AnnotationEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ArchiveApi api)
    {
        var p = ArchiveApi.Prefix;
        app.MapGet(p + "/slides/{id}/annotations", (HttpContext c, string id) => ListAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("A slide's annotations (elements limited to left/top/right/bottom when given; format=geojson for one FeatureCollection)", ArchiveRole.Read));
        app.MapPost(p + "/slides/{id}/annotations", (HttpContext c, string id) => CreateAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("Create an annotation from a DSA document or a GeoJSON FeatureCollection (name=...)", ArchiveRole.Annotate));
        app.MapGet(p + "/annotations/{id}", (HttpContext c, string id) => GetAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("One annotation (ETag: its version; format=geojson; left/top/right/bottom limit the elements)", ArchiveRole.Read));
        app.MapPut(p + "/annotations/{id}", (HttpContext c, string id) => UpdateAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("Replace an annotation; If-Match: VERSION required, 409 when stale", ArchiveRole.Annotate));
        app.MapDelete(p + "/annotations/{id}", (HttpContext c, string id) => DeleteAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("Delete an annotation (history kept); If-Match: VERSION optional", ArchiveRole.Annotate));
        app.MapGet(p + "/annotations/{id}/history", (HttpContext c, string id) => HistoryAsync(c, api, id, null))
            .WithMetadata(new ArchiveEndpointInfo("The versions of an annotation", ArchiveRole.Read));
        app.MapGet(p + "/annotations/{id}/history/{version}", (HttpContext c, string id, string version) => HistoryAsync(c, api, id, version))
            .WithMetadata(new ArchiveEndpointInfo("One earlier version's document", ArchiveRole.Read));
        app.MapPost(p + "/annotations/{id}/revert", (HttpContext c, string id) => RevertAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("Make an earlier version current again ({\"version\":N}, If-Match: current VERSION)", ArchiveRole.Annotate));
    }

    private static async Task<IResult> ListAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
        if (denied is not null)
        {
            return denied;
        }
        if (Box(c, out var box) is { } bad)
        {
            return bad;
        }
        var records = await api.Archive.Repository.ListAnnotationsAsync(slide!.Id, c.RequestAborted);
        var documents = new List<(AnnotationRecord Record, JsonObject Document)>();
        foreach (var r in records)
        {
            documents.Add((r, await DocumentAsync(api, r, box, c.RequestAborted)));
        }
        if (IsGeoJson(c))
        {
            var all = new JsonObject { ["name"] = slide.Name, ["elements"] = new JsonArray([.. documents.SelectMany(d => d.Document["elements"]!.AsArray()).Select(e => e!.DeepClone())]) };
            return Results.Json(GeoJson.Export(all), ArchiveApi.Json, "application/geo+json");
        }
        return Results.Json(documents.Select(d => Summary(d.Record, d.Document)), ArchiveApi.Json);
    }

    private static async Task<IResult> CreateAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Annotate);
        if (denied is not null)
        {
            return denied;
        }
        var (body, error) = await ReadBodyAsync(c, api);
        if (error is not null)
        {
            return error;
        }
        ParsedAnnotation parsed;
        try
        {
            var node = GeoJson.IsFeatureCollection(body) ? GeoJson.Import((JsonObject)body!, c.Request.Query["name"].FirstOrDefault() ?? "GeoJSON import") : body;
            parsed = DsaDocument.Parse(node);
        }
        catch (AnnotationInputException ex)
        {
            return ArchiveApi.Error(400, ex.Message);
        }
        var record = await api.Archive.Repository.CreateAnnotationAsync(slide!.Id, parsed.Name, parsed.Document.ToJsonString(), parsed.Elements, c.RequestAborted);
        c.Response.Headers.ETag = Tag(record.Version);
        return Results.Json(new { id = record.Id, version = record.Version }, ArchiveApi.Json, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (record, _, denied) = await AnnotationAsync(c, api, id, ArchiveRole.Read);
        if (denied is not null)
        {
            return denied;
        }
        if (Box(c, out var box) is { } bad)
        {
            return bad;
        }
        var document = await DocumentAsync(api, record!, box, c.RequestAborted);
        c.Response.Headers.ETag = Tag(record!.Version);
        return IsGeoJson(c)
            ? Results.Json(GeoJson.Export(document), ArchiveApi.Json, "application/geo+json")
            : Results.Json(Summary(record, document), ArchiveApi.Json);
    }

    private static async Task<IResult> UpdateAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (record, _, denied) = await AnnotationAsync(c, api, id, ArchiveRole.Annotate);
        if (denied is not null)
        {
            return denied;
        }
        if (IfMatch(c, required: true, out var expected) is { } precondition)
        {
            return precondition;
        }
        var (body, error) = await ReadBodyAsync(c, api);
        if (error is not null)
        {
            return error;
        }
        ParsedAnnotation parsed;
        try
        {
            var node = GeoJson.IsFeatureCollection(body) ? GeoJson.Import((JsonObject)body!, record!.Name) : body;
            parsed = DsaDocument.Parse(node);
        }
        catch (AnnotationInputException ex)
        {
            return ArchiveApi.Error(400, ex.Message);
        }
        return await WriteAsync(c, api, id, expected!.Value, parsed);
    }

    private static async Task<IResult> WriteAsync(HttpContext c, ArchiveApi api, string id, int expected, ParsedAnnotation parsed)
    {
        var (outcome, updated) = await api.Archive.Repository.UpdateAnnotationAsync(id, expected, parsed.Name, parsed.Document.ToJsonString(), parsed.Elements, c.RequestAborted);
        return outcome switch
        {
            WriteOutcome.Done => Ok(c, updated!),
            WriteOutcome.StaleVersion => await StaleAsync(api, id, expected, c.RequestAborted),
            _ => ArchiveApi.Error(404, $"annotation '{ArchiveApi.Shorten(id)}' not found"),
        };
    }

    private static IResult Ok(HttpContext c, AnnotationRecord record)
    {
        c.Response.Headers.ETag = Tag(record.Version);
        return Results.Json(new { id = record.Id, version = record.Version }, ArchiveApi.Json);
    }

    private static async Task<IResult> StaleAsync(ArchiveApi api, string id, int expected, CancellationToken ct)
    {
        var current = await api.Archive.Repository.GetAnnotationAsync(id, ct);
        return ArchiveApi.Error(409, $"annotation '{id}' is at version {current?.Version.ToString(CultureInfo.InvariantCulture) ?? "?"}, not {expected}: reload it and apply the change again");
    }

    private static async Task<IResult> DeleteAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (_, _, denied) = await AnnotationAsync(c, api, id, ArchiveRole.Annotate);
        if (denied is not null)
        {
            return denied;
        }
        if (IfMatch(c, required: false, out var expected) is { } precondition)
        {
            return precondition;
        }
        return await api.Archive.Repository.DeleteAnnotationAsync(id, expected, c.RequestAborted) switch
        {
            WriteOutcome.Done => Results.NoContent(),
            WriteOutcome.StaleVersion => await StaleAsync(api, id, expected ?? 0, c.RequestAborted),
            _ => ArchiveApi.Error(404, $"annotation '{ArchiveApi.Shorten(id)}' not found"),
        };
    }

    private static async Task<IResult> HistoryAsync(HttpContext c, ArchiveApi api, string id, string? version)
    {
        var (_, _, denied) = await AnnotationAsync(c, api, id, ArchiveRole.Read, includeDeleted: true);
        if (denied is not null)
        {
            return denied;
        }
        var history = await api.Archive.Repository.HistoryAsync(id, c.RequestAborted);
        if (version is null)
        {
            return Results.Json(history.Select(h => new { version = h.Version, deleted = h.Deleted, created = h.Created }), ArchiveApi.Json);
        }
        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        {
            return ArchiveApi.Error(400, $"version: '{ArchiveApi.Shorten(version)}' is not a positive integer");
        }
        return history.FirstOrDefault(h => h.Version == v) is { } entry
            ? Results.Json(new { id, version = entry.Version, deleted = entry.Deleted, created = entry.Created, annotation = JsonNode.Parse(entry.Document) }, ArchiveApi.Json)
            : ArchiveApi.Error(404, $"annotation '{id}' has no version {v}");
    }

    private static async Task<IResult> RevertAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (_, _, denied) = await AnnotationAsync(c, api, id, ArchiveRole.Annotate);
        if (denied is not null)
        {
            return denied;
        }
        if (IfMatch(c, required: true, out var expected) is { } precondition)
        {
            return precondition;
        }
        var (body, error) = await ReadBodyAsync(c, api);
        if (error is not null)
        {
            return error;
        }
        if (body?["version"] is not JsonValue jv || !jv.TryGetValue<int>(out var target) || target < 1)
        {
            return ArchiveApi.Error(400, "version: is required, a positive integer (the version to make current again)");
        }
        var history = await api.Archive.Repository.HistoryAsync(id, c.RequestAborted);
        if (history.FirstOrDefault(h => h.Version == target && !h.Deleted) is not { } entry)
        {
            return ArchiveApi.Error(404, $"annotation '{id}' has no version {target} to revert to");
        }
        return await WriteAsync(c, api, id, expected!.Value, DsaDocument.Parse(JsonNode.Parse(entry.Document)));
    }

    /// <summary>The annotation, its slide and an authorised caller; else the 401/403/404 to answer.</summary>
    private static async Task<(AnnotationRecord? Record, CatalogSlide? Slide, IResult? Denied)> AnnotationAsync(HttpContext c, ArchiveApi api, string id, ArchiveRole role, bool includeDeleted = false)
    {
        var (_, denied) = await api.AuthorizeAsync(c, ArchiveRole.Read, null);
        if (denied is not null)
        {
            return (null, null, denied);
        }
        var record = await api.Archive.Repository.GetAnnotationAsync(id, c.RequestAborted, includeDeleted);
        if (record is null)
        {
            return (null, null, ArchiveApi.Error(404, $"annotation '{ArchiveApi.Shorten(id)}' not found"));
        }
        var (slide, refused) = await api.SlideAsync(c, record.SlideId, role);
        return refused is null ? (record, slide, null) : (null, null, refused);
    }

    private static async Task<JsonObject> DocumentAsync(ArchiveApi api, AnnotationRecord record, (double, double, double, double)? box, CancellationToken ct)
    {
        var document = JsonNode.Parse(record.Document)!.AsObject();
        if (box is var (x0, y0, x1, y1))
        {
            var elements = await api.Archive.Repository.ElementsInBoxAsync(record.Id, x0, y0, x1, y1, ct);
            document["elements"] = new JsonArray([.. elements.Select(e => JsonNode.Parse(e.Json))]);
        }
        return document;
    }

    private static object Summary(AnnotationRecord r, JsonObject document) =>
        new { id = r.Id, slideId = r.SlideId, version = r.Version, created = r.Created, updated = r.Updated, annotation = document };

    private static string Tag(int version) => "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"";

    private static bool IsGeoJson(HttpContext c) => string.Equals(c.Request.Query["format"].FirstOrDefault(), "geojson", StringComparison.OrdinalIgnoreCase);

    /// <summary>The If-Match version (a bare or quoted integer); a 428 when required and missing, 400 when not a version.</summary>
    private static IResult? IfMatch(HttpContext c, bool required, out int? version)
    {
        version = null;
        var header = c.Request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0)
        {
            return required ? ArchiveApi.Error(StatusCodes.Status428PreconditionRequired, "If-Match: the version being replaced is required (from the ETag or 'version' of a GET)") : null;
        }
        if (header.StartsWith("W/", StringComparison.Ordinal))
        {
            header = header[2..];
        }
        if (!int.TryParse(header.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1)
        {
            return ArchiveApi.Error(400, $"If-Match: '{ArchiveApi.Shorten(header)}' is not an annotation version");
        }
        version = v;
        return null;
    }

    /// <summary>left/top/right/bottom in level-0 pixels: all four or none.</summary>
    private static IResult? Box(HttpContext c, out (double, double, double, double)? box)
    {
        box = null;
        var names = new[] { "left", "top", "right", "bottom" };
        var given = names.Count(n => c.Request.Query.ContainsKey(n));
        if (given == 0)
        {
            return null;
        }
        var values = new double[4];
        for (var i = 0; i < 4; i++)
        {
            var raw = c.Request.Query[names[i]].FirstOrDefault();
            if (raw is null)
            {
                return ArchiveApi.Error(400, $"{names[i]}: is required with {string.Join(", ", names.Where(n => c.Request.Query.ContainsKey(n)))} (a box needs left, top, right and bottom)");
            }
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
            {
                return ArchiveApi.Error(400, $"{names[i]}: '{ArchiveApi.Shorten(raw)}' is not a number");
            }
        }
        if (values[2] < values[0] || values[3] < values[1])
        {
            return ArchiveApi.Error(400, "right/bottom: must not be less than left/top");
        }
        box = (values[0], values[1], values[2], values[3]);
        return null;
    }

    /// <summary>The JSON body, held to the annotation size limit: 413 beyond it, 400 when it is not JSON.</summary>
    internal static async Task<(JsonNode? Body, IResult? Error)> ReadBodyAsync(HttpContext c, ArchiveApi api)
    {
        var limit = api.Archive.Options.MaxAnnotationBytes;
        if (c.Request.ContentLength > limit)
        {
            return (null, ArchiveApi.Error(413, $"body: {c.Request.ContentLength} bytes is over the {limit}-byte limit for annotations"));
        }
        if (c.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await c.Request.Body.ReadAsync(chunk, c.RequestAborted)) > 0)
            {
                if (buffer.Length + n > limit)
                {
                    return (null, ArchiveApi.Error(413, $"body: over the {limit}-byte limit for annotations"));
                }
                buffer.Write(chunk, 0, n);
            }
            if (buffer.Length == 0)
            {
                return (null, ArchiveApi.Error(400, "body: is empty; send a JSON document"));
            }
            buffer.Position = 0;
            return (await JsonNode.ParseAsync(buffer, cancellationToken: c.RequestAborted), null);
        }
        catch (JsonException ex)
        {
            return (null, ArchiveApi.Error(400, $"body: not valid JSON ({ex.Message})"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ArchiveApi.Error(413, $"body: over the {limit}-byte limit for annotations"));
        }
    }
}
