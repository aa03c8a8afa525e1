using System.Globalization;
using System.Text.Json.Nodes;
using Histoscale.Archive.Auth;
using Histoscale.Archive.Data;
using Histoscale.Archive.Jobs;
using Histoscale.Inference.Repository;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive.Api;

/// <summary>
/// Model jobs: <c>POST /jobs</c> runs a model of the served repository over slides (annotate role in each slide's
/// collection, as DSA asks for write access), <c>GET /jobs</c> and <c>GET /jobs/{id}</c> give state and progress
/// (read role in the job's collections), <c>DELETE /jobs/{id}</c> cancels (annotate).
/// </summary>
internal static class JobEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ArchiveApi api)
    {
        var p = ArchiveApi.Prefix;
        app.MapPost(p + "/jobs", (Func<HttpContext, Task<IResult>>)(c => SubmitAsync(c, api)))
            .WithMetadata(new ArchiveEndpointInfo("Run a model over slides ({\"slideIds\":[...],\"model\":\"NAME\",\"version\":N,\"parameters\":{...}}); its heatmaps become overlays", ArchiveRole.Annotate));
        app.MapGet(p + "/jobs", (Func<HttpContext, Task<IResult>>)(c => ListAsync(c, api)))
            .WithMetadata(new ArchiveEndpointInfo("Jobs in the collections the caller may read, newest first (slideId= keeps one slide's)", ArchiveRole.Read));
        app.MapGet(p + "/jobs/{id}", (HttpContext c, string id) => GetAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("A job's state (queued, running, completed, failed, cancelled), progress and error", ArchiveRole.Read));
        app.MapDelete(p + "/jobs/{id}", (HttpContext c, string id) => CancelAsync(c, api, id))
            .WithMetadata(new ArchiveEndpointInfo("Cancel a queued or running job (409 when it has ended)", ArchiveRole.Annotate));
    }

    private static async Task<IResult> SubmitAsync(HttpContext c, ArchiveApi api)
    {
        var (caller, denied) = await api.AuthorizeAsync(c, ArchiveRole.Annotate, null);
        if (denied is not null)
        {
            return denied;
        }
        if (api.Archive.Jobs is not { } jobs)
        {
            return ArchiveApi.Error(StatusCodes.Status503ServiceUnavailable, "jobs are not enabled on this server: serve needs --model-repository (the models) and --results (where heatmaps go)");
        }
        var (body, error) = await AnnotationEndpoints.ReadBodyAsync(c, api);
        if (error is not null)
        {
            return error;
        }
        JobRequest request;
        try
        {
            request = JobRequest.Parse(body);
        }
        catch (JobRequestException ex)
        {
            return ArchiveApi.Error(400, ex.Message);
        }
        var collections = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.SlideIds.Count; i++)
        {
            if (!api.Archive.Catalog.TryGet(request.SlideIds[i], out var slide))
            {
                return ArchiveApi.Error(404, $"slideIds[{i}]: slide '{ArchiveApi.Shorten(request.SlideIds[i])}' not found");
            }
            if (!caller!.Can(ArchiveRole.Annotate, slide.Collection))
            {
                return ArchiveApi.Error(403, $"slideIds[{i}]: this token does not have the annotate role in collection '{slide.Collection}'");
            }
            collections.Add(slide.Collection);
        }
        var index = new ModelRepository(api.Archive.Options.ModelRepository!).Index();
        var model = index.FirstOrDefault(e => e.Name == request.Model);
        if (model is null)
        {
            return ArchiveApi.Error(400, $"model: '{ArchiveApi.Shorten(request.Model)}' is not in the model repository (GET /api/v1/models lists {string.Join(", ", index.Select(e => e.Name))})");
        }
        if (model.Error is not null)
        {
            return ArchiveApi.Error(400, $"model: '{model.Name}' cannot be loaded: {model.Error}");
        }
        if (request.Version is { } v && !model.Versions.Contains(v))
        {
            return ArchiveApi.Error(400, $"version: model '{model.Name}' has no version {v} (it has {string.Join(", ", model.Versions)})");
        }
        var record = await jobs.SubmitAsync(request, [.. collections], c.RequestAborted);
        if (record is null)
        {
            return ArchiveApi.Error(StatusCodes.Status429TooManyRequests, $"the job queue is full: {jobs.QueueLimit} jobs are queued or running on this server (serve --jobs-queue-limit); submit again when some have ended");
        }
        c.Response.Headers.Location = $"{ArchiveApi.Prefix}/jobs/{record.Id}";
        return Results.Json(View(record, null), ArchiveApi.Json, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext c, ArchiveApi api)
    {
        var (caller, denied) = await api.AuthorizeAsync(c, ArchiveRole.Read, null);
        if (denied is not null)
        {
            return denied;
        }
        var slideId = c.Request.Query["slideId"].FirstOrDefault();
        var limit = 100;
        if (c.Request.Query["limit"].FirstOrDefault() is { } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return ArchiveApi.Error(400, $"limit: '{ArchiveApi.Shorten(text)}' is not a number within 1..1000");
        }
        // Pages through the jobs, newest first, until limit of them are the caller's to see (filtered after the
        // query: a job's collections are a list, and what a token may read is decided by its grants).
        var visible = new List<JobRecord>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        const int Page = 500;
        for (var offset = 0; visible.Count < limit; offset += Page)
        {
            var page = await api.Archive.Repository.ListJobsAsync(Page, offset, c.RequestAborted);
            foreach (var job in page)
            {
                if (visible.Count < limit && seen.Add(job.Id) && job.Collections.All(col => caller!.Can(ArchiveRole.Read, col))
                    && (slideId is null || SlideIds(job).Contains(slideId, StringComparer.Ordinal)))
                {
                    visible.Add(job);
                }
            }
            if (page.Count < Page)
            {
                break;
            }
        }
        return Results.Json(visible.Select(j => View(j, api.Archive.Jobs?.Live(j.Id))).ToList(), ArchiveApi.Json);
    }

    private static async Task<IResult> GetAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (record, denied) = await JobAsync(c, api, id, ArchiveRole.Read);
        return denied ?? Results.Json(View(record!, api.Archive.Jobs?.Live(record!.Id)), ArchiveApi.Json);
    }

    private static async Task<IResult> CancelAsync(HttpContext c, ArchiveApi api, string id)
    {
        var (record, denied) = await JobAsync(c, api, id, ArchiveRole.Annotate);
        if (denied is not null)
        {
            return denied;
        }
        var cancelled = api.Archive.Jobs is { } jobs
            ? await jobs.CancelAsync(record!.Id, c.RequestAborted)
            : await api.Archive.Repository.SetJobStateAsync(record!.Id, JobRunner.Cancelled, [JobRunner.Queued, JobRunner.Running], "cancelled by a client", c.RequestAborted);
        var now = await api.Archive.Repository.GetJobAsync(record.Id, c.RequestAborted);
        return cancelled
            ? Results.Json(View(now!, null), ArchiveApi.Json)
            : ArchiveApi.Error(409, $"job '{record.Id}' has already ended ({now!.State})");
    }

    /// <summary>The job and an authorised caller (the role in every collection of the job), or the 401/403/404 to answer.</summary>
    private static async Task<(JobRecord? Record, IResult? Denied)> JobAsync(HttpContext c, ArchiveApi api, string id, ArchiveRole role)
    {
        var (caller, denied) = await api.AuthorizeAsync(c, ArchiveRole.Read, null);
        if (denied is not null)
        {
            return (null, denied);
        }
        var record = await api.Archive.Repository.GetJobAsync(id, c.RequestAborted);
        if (record is null)
        {
            return (null, ArchiveApi.Error(404, $"job '{ArchiveApi.Shorten(id)}' not found"));
        }
        foreach (var collection in record.Collections)
        {
            if (!caller!.Can(role, collection))
            {
                return (null, ArchiveApi.Error(403, $"this token does not have the {role.ToString().ToLowerInvariant()} role in collection '{collection}'"));
            }
        }
        return (record, null);
    }

    private static IReadOnlyList<string> SlideIds(JobRecord record) =>
        JsonNode.Parse(record.Request)?["slideIds"] is JsonArray ids ? [.. ids.Select(i => (string)i!)] : [];

    private static object View(JobRecord record, JobRunner.LiveJob? live)
    {
        var request = JsonNode.Parse(record.Request)!.AsObject();
        var running = live is not null && record.State == JobRunner.Running;
        return new
        {
            id = record.Id,
            state = record.State,
            model = record.Model,
            version = (long?)request["version"],
            slideIds = SlideIds(record),
            collections = record.Collections,
            parameters = request["parameters"],
            progress = new
            {
                slides = record.SlidesTotal,
                slidesDone = running ? Volatile.Read(ref live!.SlidesDone) : record.SlidesDone,
                tilesDone = running ? Volatile.Read(ref live!.TilesDone) : record.TilesDone,
                tilesTotal = running ? Volatile.Read(ref live!.TilesTotal) : record.TilesTotal,
            },
            error = record.Error,
            created = record.Created,
            updated = record.Updated,
        };
    }
}
