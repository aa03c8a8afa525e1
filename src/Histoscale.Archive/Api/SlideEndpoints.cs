using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tiles;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Histoscale.Archive.Api;

/// <summary>Slides, their pyramids (Deep Zoom, zxy), regions, thumbnails, associated images and overlays.</summary>
internal static class SlideEndpoints
{
    private const string TileCacheControl = "private, max-age=86400";

    public static void Map(IEndpointRouteBuilder app, ArchiveApi api)
    {
        var p = ArchiveApi.Prefix;
        app.MapGet(p + "/slides", (Func<HttpContext, Task<IResult>>)(c => ListAsync(c, api))).WithMetadata(new ArchiveEndpointInfo("Slides the caller may read, in every collection", ArchiveRole.Read));
        app.MapPost(p + "/slides/scan", (Func<HttpContext, Task<IResult>>)(c => ScanAsync(c, api))).WithMetadata(new ArchiveEndpointInfo("Rescan the collections the caller administers", ArchiveRole.Admin));
        app.MapGet(p + "/slides/{id}", async (HttpContext c, string id) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            return denied ?? Results.Json(Describe(slide!, detailed: true), ArchiveApi.Json);
        }).WithMetadata(new ArchiveEndpointInfo("One slide: size, resolution, levels, associated images", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/dzi", async (HttpContext c, string id) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            return denied ?? Results.Text(slide!.Geometry.ToXml("jpeg"), "application/xml");
        }).WithMetadata(new ArchiveEndpointInfo("Deep Zoom descriptor (DZI XML)", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/dzi_files/{level}/{tile}", async (HttpContext c, string id, string level, string tile) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            return ParseDeepZoomTile(slide!.Geometry, level, tile, "jpeg", out var l, out var col, out var row) is { } bad
                ? bad
                : ServeTile(c, api, slide, slide.Slide, slide.Geometry, $"dz/{l}/{col}/{row}", l, col, row, ImageFileFormat.Jpeg);
        }).WithMetadata(new ArchiveEndpointInfo("Deep Zoom tile LEVEL/COL_ROW.jpeg", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/tiles/zxy/{z}/{x}/{y}", async (HttpContext c, string id, string z, string x, string y) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            var g = slide!.Geometry;
            if (!int.TryParse(z, NumberStyles.None, CultureInfo.InvariantCulture, out var zi) || zi > g.MaxLevel - g.ZxyOffset)
            {
                return ArchiveApi.Error(400, $"z: '{ArchiveApi.Shorten(z)}' is not a zoom level 0..{g.MaxLevel - g.ZxyOffset}");
            }
            var level = zi + g.ZxyOffset;
            if (ParseDeepZoomTile(g, level.ToString(CultureInfo.InvariantCulture), $"{x}_{y}.jpeg", "jpeg", out var l, out var col, out var row) is { } bad)
            {
                return bad;
            }
            return ServeTile(c, api, slide, slide.Slide, g, $"dz/{l}/{col}/{row}", l, col, row, ImageFileFormat.Jpeg);
        }).WithMetadata(new ArchiveEndpointInfo("Tile in the z/x/y scheme (z 0: the whole slide in one tile)", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/region", (HttpContext c, string id) => RegionAsync(c, api, id)).WithMetadata(new ArchiveEndpointInfo("Region x,y,width,height (level-0 pixels) at a level or mpp, as png or jpeg", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/thumbnail", async (HttpContext c, string id) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            var max = 256;
            if (c.Request.Query["max"] is { Count: > 0 } m && (!int.TryParse(m[0], NumberStyles.None, CultureInfo.InvariantCulture, out max) || max < 1 || max > api.Archive.Options.MaxRegionEdge))
            {
                return ArchiveApi.Error(400, $"max: '{ArchiveApi.Shorten(m[0] ?? "")}' is not a size 1..{api.Archive.Options.MaxRegionEdge}");
            }
            return ServeImage(c, api, slide!, $"thumb/{max}", "image/jpeg", () => TileRenderer.Encode(TileRenderer.Thumbnail(slide!.Slide, max), ImageFileFormat.Jpeg));
        }).WithMetadata(new ArchiveEndpointInfo("Thumbnail, longer side at most max (default 256)", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/associated/{name}", async (HttpContext c, string id, string name) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            if (!slide!.Slide.AssociatedImages.ContainsKey(name))
            {
                var names = slide.Slide.AssociatedImages.Keys;
                return ArchiveApi.Error(404, $"associated image '{ArchiveApi.Shorten(name)}' not found; this slide has: {(names.Count() == 0 ? "none" : string.Join(", ", names))}");
            }
            return ServeImage(c, api, slide, $"assoc/{name}", "image/jpeg", () => TileRenderer.Encode(slide.Slide.ReadAssociatedImage(name), ImageFileFormat.Jpeg));
        }).WithMetadata(new ArchiveEndpointInfo("Associated image (label, macro, thumbnail) as JPEG", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/overlays", async (HttpContext c, string id) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            return denied ?? Results.Json(slide!.Overlays.Select(o => new
            {
                id = o.Id,
                name = o.Name,
                dzi = $"{ArchiveApi.Prefix}/slides/{slide.Id}/overlays/{o.Id}/dzi",
                x = o.OriginX,
                y = o.OriginY,
                width = o.Image.Width * o.Scale,
                height = o.Image.Height * o.Scale,
                legend = o.Legend,
            }), ArchiveApi.Json);
        }).WithMetadata(new ArchiveEndpointInfo("Overlays (infer heatmaps) with their placement in level-0 pixels", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/overlays/{overlay}/dzi", async (HttpContext c, string id, string overlay) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            return slide!.Overlays.FirstOrDefault(o => o.Id == overlay) is { } o
                ? Results.Text(o.Geometry.ToXml("png"), "application/xml")
                : ArchiveApi.Error(404, $"overlay '{ArchiveApi.Shorten(overlay)}' not found on slide '{slide.Id}'");
        }).WithMetadata(new ArchiveEndpointInfo("Deep Zoom descriptor of an overlay", ArchiveRole.Read));
        app.MapGet(p + "/slides/{id}/overlays/{overlay}/dzi_files/{level}/{tile}", async (HttpContext c, string id, string overlay, string level, string tile) =>
        {
            var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
            if (denied is not null)
            {
                return denied;
            }
            if (slide!.Overlays.FirstOrDefault(o => o.Id == overlay) is not { } o)
            {
                return ArchiveApi.Error(404, $"overlay '{ArchiveApi.Shorten(overlay)}' not found on slide '{slide.Id}'");
            }
            return ParseDeepZoomTile(o.Geometry, level, tile, "png", out var l, out var col, out var row) is { } bad
                ? bad
                : ServeTile(c, api, slide, o.Image, o.Geometry, $"ov/{o.Id}/{o.Reader.Revision}/{l}/{col}/{row}", l, col, row, ImageFileFormat.Png);
        }).WithMetadata(new ArchiveEndpointInfo("Overlay Deep Zoom tile LEVEL/COL_ROW.png (transparent outside the map)", ArchiveRole.Read));
    }

    internal static object Describe(CatalogSlide s, bool detailed)
    {
        var slide = s.Slide;
        if (!detailed)
        {
            return new { id = s.Id, name = s.Name, collection = s.Collection, width = slide.Width, height = slide.Height, mppX = slide.MppX, mppY = slide.MppY, levels = slide.Levels.Count };
        }
        return new
        {
            id = s.Id,
            name = s.Name,
            collection = s.Collection,
            width = slide.Width,
            height = slide.Height,
            mppX = slide.MppX,
            mppY = slide.MppY,
            levels = slide.Levels.Count,
            format = slide.Format,
            objectivePower = slide.ObjectivePower,
            tileSize = s.Geometry.TileSize,
            levelDetails = slide.Levels.Select(l => new { index = l.Index, width = l.Width, height = l.Height, downsample = l.Downsample, tileWidth = l.TileWidth, tileHeight = l.TileHeight }),
            associated = slide.AssociatedImages.Keys,
            overlays = s.Overlays.Count,
        };
    }

    private static async Task<IResult> ListAsync(HttpContext c, ArchiveApi api)
    {
        var (caller, denied) = await api.AuthorizeAsync(c, ArchiveRole.Read, null);
        if (denied is not null)
        {
            return denied;
        }
        var collection = c.Request.Query["collection"].FirstOrDefault();
        var slides = api.Archive.Catalog.All.Where(s => caller!.Can(ArchiveRole.Read, s.Collection) && (collection is null || s.Collection == collection));
        return Results.Json(slides.Select(s => Describe(s, detailed: false)), ArchiveApi.Json);
    }

    private static async Task<IResult> ScanAsync(HttpContext c, ArchiveApi api)
    {
        var (caller, denied) = await api.AuthorizeAsync(c, ArchiveRole.Admin, null);
        if (denied is not null)
        {
            return denied;
        }
        var mine = api.Archive.Catalog.Collections.Where(n => caller!.Can(ArchiveRole.Admin, n)).ToList();
        var (count, problems) = await Task.Run(() => api.Archive.Catalog.Scan(mine));
        api.Archive.Tiles.Clear();
        if (problems.Count > 0 && c.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Histoscale.Archive.Scan") is { } log)
        {
            // Files not served and heatmaps not shown (ambiguous, stale, of no slide here), each with its reason.
            foreach (var problem in problems)
            {
                log.LogWarning("rescan skipped {Collection}/{Path}: {Error}", problem.Collection, problem.Path, problem.Error);
            }
        }
        if (problems.Where(p => p.Unreachable).ToList() is { Count: > 0 } unreachable)
        {
            // A remote root could not be listed: its previous listing stays served; say which URL failed.
            return Results.Json(new { error = string.Join("; ", unreachable.Select(p => $"collection '{p.Collection}': {p.Error}; its previous listing is still served")), slides = count, collections = mine },
                ArchiveApi.Json, statusCode: StatusCodes.Status502BadGateway);
        }
        return Results.Json(new { slides = count, collections = mine, problems = problems.Select(p => $"{p.Collection}/{p.Path}: {p.Error}") }, ArchiveApi.Json);
    }

    /// <summary>Parses LEVEL and COL_ROW.EXT against the pyramid; a 400/404 naming the part that is wrong, or null.</summary>
    private static IResult? ParseDeepZoomTile(DeepZoomGeometry g, string level, string tile, string extension, out int l, out long col, out long row)
    {
        (l, col, row) = (0, 0, 0);
        if (!int.TryParse(level, NumberStyles.None, CultureInfo.InvariantCulture, out l))
        {
            return ArchiveApi.Error(400, $"level: '{ArchiveApi.Shorten(level)}' is not a non-negative integer");
        }
        var dot = tile.LastIndexOf('.');
        var under = tile.IndexOf('_', StringComparison.Ordinal);
        if (dot < 0 || under < 0 || under > dot
            || !long.TryParse(tile.AsSpan(0, under), NumberStyles.None, CultureInfo.InvariantCulture, out col)
            || !long.TryParse(tile.AsSpan(under + 1, dot - under - 1), NumberStyles.None, CultureInfo.InvariantCulture, out row))
        {
            return ArchiveApi.Error(400, $"tile: '{ArchiveApi.Shorten(tile)}' is not COL_ROW.{extension}");
        }
        var ext = tile[(dot + 1)..];
        if (!ext.Equals(extension, StringComparison.OrdinalIgnoreCase) && !(extension == "jpeg" && ext.Equals("jpg", StringComparison.OrdinalIgnoreCase)))
        {
            return ArchiveApi.Error(400, $"tile: format '{ArchiveApi.Shorten(ext)}' is not served here; use .{extension}");
        }
        if (l > g.MaxLevel)
        {
            return ArchiveApi.Error(404, $"level {l} does not exist (levels 0..{g.MaxLevel})");
        }
        if (!g.Contains(l, col, row))
        {
            var (across, down) = g.TileGrid(l);
            return ArchiveApi.Error(404, $"tile ({col},{row}) is outside level {l}'s {across}x{down} grid");
        }
        return null;
    }

    private static IResult ServeTile(HttpContext c, ArchiveApi api, CatalogSlide owner, Slide image, DeepZoomGeometry g, string key, int level, long col, long row, ImageFileFormat format) =>
        ServeImage(c, api, owner, key, format == ImageFileFormat.Png ? "image/png" : "image/jpeg", () => TileRenderer.DeepZoomTile(image, g, level, col, row, format));

    /// <summary>
    /// The tile-cache key (and ETag source) of an image of a slide: its id, what its file's bytes are, and the image.
    /// A render still running on a reader a rescan replaced is stored under the old file's key, so it is never
    /// served for the new file.
    /// </summary>
    internal static string CacheKey(CatalogSlide slide, string key) => slide.Id + "/" + slide.Reader.Revision + "/" + key;

    /// <summary>Answers an image with ETag and Cache-Control, from the encoded-tile cache when it holds it; 304 for a matching If-None-Match.</summary>
    internal static IResult ServeImage(HttpContext c, ArchiveApi api, CatalogSlide slide, string key, string contentType, Func<EncodedImage> render)
    {
        var cacheKey = CacheKey(slide, key);
        var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cacheKey)))[..20] + "\"";
        c.Response.Headers.ETag = etag;
        c.Response.Headers.CacheControl = TileCacheControl;
        if (c.Request.Headers.IfNoneMatch.Any(v => v == etag || v == "*"))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        if (api.Archive.Tiles.TryGet(cacheKey, out var cached))
        {
            c.Response.Headers["X-Tile-Cache"] = "hit";
            return Results.Bytes(cached, contentType);
        }
        EncodedImage image;
        try
        {
            image = render();
        }
        catch (SlideException ex)
        {
            c.Response.Headers.Remove("ETag");
            c.Response.Headers.CacheControl = "no-store";
            // The request was valid; the slide is not. The message names the file, level and tile.
            return ArchiveApi.Error(ex.IsCorruptData ? StatusCodes.Status500InternalServerError : StatusCodes.Status503ServiceUnavailable, ex.Message);
        }
        api.Archive.Tiles.Add(cacheKey, image.Bytes);
        c.Response.Headers["X-Tile-Source"] = image.PassedThrough ? "stored" : "rendered";
        return Results.Bytes(image.Bytes, image.ContentType);
    }

    private static async Task<IResult> RegionAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (slide, denied) = await api.SlideAsync(c, id, ArchiveRole.Read);
        if (denied is not null)
        {
            return denied;
        }
        var q = c.Request.Query;
        var s = slide!.Slide;
        long Required(string name, long min, long max, out IResult? error)
        {
            error = null;
            if (q[name] is not { Count: > 0 } v || !long.TryParse(v[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                error = ArchiveApi.Error(400, $"{name}: {(q[name].Count == 0 ? "is required" : $"'{ArchiveApi.Shorten(q[name][0] ?? "")}' is not an integer")}");
                return 0;
            }
            if (value < min || value > max)
            {
                error = ArchiveApi.Error(400, $"{name}: {value} is outside {min}..{max}");
            }
            return value;
        }
        var x = Required("x", 0, s.Width - 1, out var e1);
        var y = Required("y", 0, s.Height - 1, out var e2);
        var w = Required("width", 1, s.Width, out var e3);
        var h = Required("height", 1, s.Height, out var e4);
        if ((e1 ?? e2 ?? e3 ?? e4) is { } error)
        {
            return error;
        }
        double downsample = 1;
        if (q["level"] is { Count: > 0 } lv)
        {
            if (!int.TryParse(lv[0], NumberStyles.None, CultureInfo.InvariantCulture, out var level) || level >= s.Levels.Count)
            {
                return ArchiveApi.Error(400, $"level: '{ArchiveApi.Shorten(lv[0] ?? "")}' is not a level 0..{s.Levels.Count - 1}");
            }
            downsample = s.Levels[level].Downsample;
        }
        else if (q["mpp"] is { Count: > 0 } mv)
        {
            if (!double.TryParse(mv[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var mpp) || !double.IsFinite(mpp) || mpp <= 0)
            {
                return ArchiveApi.Error(400, $"mpp: '{ArchiveApi.Shorten(mv[0] ?? "")}' is not a positive number");
            }
            if (s.MppX is not { } slideMpp)
            {
                return ArchiveApi.Error(400, "mpp: this slide states no resolution; ask by level instead");
            }
            downsample = Math.Max(1, mpp / slideMpp);
        }
        var format = (q["format"].FirstOrDefault() ?? "jpeg").ToLowerInvariant() switch
        {
            "jpeg" or "jpg" => (ImageFileFormat?)ImageFileFormat.Jpeg,
            "png" => ImageFileFormat.Png,
            _ => null,
        };
        if (format is null)
        {
            return ArchiveApi.Error(400, $"format: '{ArchiveApi.Shorten(q["format"].FirstOrDefault() ?? "")}' is not png or jpeg");
        }
        var outW = (int)Math.Max(1, Math.Round(w / downsample));
        var outH = (int)Math.Max(1, Math.Round(h / downsample));
        var limit = api.Archive.Options.MaxRegionEdge;
        if (outW > limit || outH > limit)
        {
            return ArchiveApi.Error(400, $"width/height: the output would be {outW}x{outH} pixels; at most {limit} per side (ask at a coarser level or mpp)");
        }
        var key = string.Create(CultureInfo.InvariantCulture, $"region/{x}/{y}/{w}/{h}/{outW}/{outH}/{format}");
        return ServeImage(c, api, slide, key, format == ImageFileFormat.Png ? "image/png" : "image/jpeg", () => TileRenderer.Encode(TileRenderer.Render(s, x, y, w, h, outW, outH), format.Value));
    }
}
