using System.Text.Json;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Histoscale.Server.Kserve.Http;

/// <summary>
/// The KServe v2 REST API with Triton's extensions (model configuration, statistics, model repository, binary
/// tensors): health, server and model metadata, readiness, config, inference, statistics, repository index and
/// load/unload. Every error is <c>{"error": "..."}</c> with Triton's status.
/// </summary>
internal static class KServeHttpEndpoints
{
    public static RouteGroupBuilder MapKServeHttp(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2");
        v2.MapGet("/health/live", HttpJson.Handle(context =>
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        }));
        // Triton answers 400 when not ready; any non-2xx fails a Kubernetes probe.
        v2.MapGet("/health/ready", HttpJson.Handle(context =>
        {
            context.Response.StatusCode = State(context).Ready ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        }));
        v2.MapGet("", HttpJson.Handle(context => HttpJson.WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", ServerState.Name);
            w.WriteString("version", ServerState.Version);
            w.WriteStartArray("extensions");
            foreach (var e in ServerState.Extensions)
            {
                w.WriteStringValue(e);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        })));

        v2.MapGet("/models/stats", HttpJson.Handle(context => StatisticsAsync(context, null, null)));
        MapModel(v2.MapGroup("/models/{name}"));
        MapModel(v2.MapGroup("/models/{name}/versions/{version}"));

        v2.MapPost("/repository/index", HttpJson.Handle(RepositoryIndexAsync));
        v2.MapPost("/repository/models/{name}/load", HttpJson.Handle(async context =>
        {
            Models(context).EnsureExplicitControl();
            await RejectLoadOverridesAsync(context).ConfigureAwait(false);
            await Models(context).LoadAsync(Route(context, "name")!, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
        }));
        v2.MapPost("/repository/models/{name}/unload", HttpJson.Handle(async context =>
        {
            Models(context).EnsureExplicitControl();
            await Models(context).UnloadAsync(Route(context, "name")!, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
        }));

        // Triton's system shared memory extension.
        v2.MapGet("/systemsharedmemory/status", HttpJson.Handle(context => SharedMemoryStatusAsync(context, null)));
        v2.MapGet("/systemsharedmemory/region/{region}/status", HttpJson.Handle(context => SharedMemoryStatusAsync(context, Route(context, "region"))));
        v2.MapPost("/systemsharedmemory/region/{region}/register", HttpJson.Handle(RegisterSharedMemoryAsync));
        v2.MapPost("/systemsharedmemory/region/{region}/unregister", HttpJson.Handle(context =>
        {
            SharedMemory(context).Unregister(Route(context, "region")!);
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        }));
        v2.MapPost("/systemsharedmemory/unregister", HttpJson.Handle(context =>
        {
            SharedMemory(context).UnregisterAll();
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        }));
        return v2;
    }

    private static Task SharedMemoryStatusAsync(HttpContext context, string? region)
    {
        var regions = SharedMemory(context).Status(region);
        return HttpJson.WriteAsync(context, w =>
        {
            w.WriteStartArray();
            foreach (var r in regions)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteString("key", r.Key);
                w.WriteNumber("offset", r.Offset);
                w.WriteNumber("byte_size", r.ByteSize);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary><c>POST .../region/NAME/register</c> with <c>{"key", "offset", "byte_size"}</c>.</summary>
    private static async Task RegisterSharedMemoryAsync(HttpContext context)
    {
        var name = Route(context, "region")!;
        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new Inference.InferenceRequestException($"failed to parse the request JSON buffer: {ex.Message}");
        }
        using (body)
        {
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String)
            {
                throw new Inference.InferenceRequestException($"shared memory region '{name}': the register request needs a string 'key'");
            }
            long offset = 0;
            if (root.TryGetProperty("offset", out var o) && !o.TryGetInt64(out offset))
            {
                throw new Inference.InferenceRequestException($"shared memory region '{name}': 'offset' must be an integer, got {o.GetRawText()}");
            }
            if (!root.TryGetProperty("byte_size", out var s) || !s.TryGetInt64(out var size))
            {
                throw new Inference.InferenceRequestException($"shared memory region '{name}': the register request needs an integer 'byte_size'");
            }
            SharedMemory(context).Register(name, key.GetString()!, offset, size);
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static void MapModel(RouteGroupBuilder model)
    {
        model.MapGet("", HttpJson.Handle(context =>
        {
            var (name, version) = Address(context);
            var host = Models(context).Resolve(name, version);
            var versions = Models(context).Versions(name);
            return HttpJson.WriteAsync(context, w => WriteMetadata(w, host, versions));
        }));
        model.MapGet("/ready", HttpJson.Handle(context =>
        {
            var (name, version) = Address(context);
            context.Response.StatusCode = Models(context).IsReady(name, version) ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        }));
        model.MapGet("/config", HttpJson.Handle(context =>
        {
            var (name, version) = Address(context);
            var host = Models(context).Resolve(name, version);
            return HttpJson.WriteAsync(context, w => ProtoJson.Write(w, host.ConfigProto));
        }));
        model.MapGet("/stats", HttpJson.Handle(context =>
        {
            var (name, version) = Address(context);
            return StatisticsAsync(context, name, version);
        }));
        model.MapPost("/infer", HttpJson.Handle(context =>
        {
            var (name, version) = Address(context);
            return InferEndpoint.HandleAsync(context, Models(context), name, version);
        }));
    }

    private static void WriteMetadata(Utf8JsonWriter w, ModelVersionHost host, IReadOnlyList<ModelVersionHost> versions)
    {
        var m = host.Metadata;
        w.WriteStartObject();
        w.WriteString("name", host.Name);
        w.WriteStartArray("versions");
        foreach (var v in versions)
        {
            w.WriteStringValue(v.VersionText);
        }
        w.WriteEndArray();
        w.WriteString("platform", m.Platform);
        WriteTensors(w, "inputs", m.Inputs);
        WriteTensors(w, "outputs", m.Outputs);
        w.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter w, string property, IReadOnlyList<Inference.TensorSpec> specs)
    {
        w.WriteStartArray(property);
        foreach (var s in specs)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("datatype", s.DataType.ToKServeName());
            w.WriteStartArray("shape");
            foreach (var d in s.Shape)
            {
                w.WriteNumberValue(d);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static Task StatisticsAsync(HttpContext context, string? name, string? version)
    {
        var models = Models(context);
        IEnumerable<ModelVersionHost> hosts = name is null ? models.LoadedVersions
            : string.IsNullOrEmpty(version) ? models.Versions(name)
            : [models.Resolve(name, version)];
        var response = new ModelStatisticsResponse();
        foreach (var h in hosts)
        {
            response.ModelStats.Add(StatisticsConverter.ToProto(h.Name, h.VersionText, h.Statistics.Snapshot()));
        }
        return HttpJson.WriteAsync(context, w => ProtoJson.Write(w, response));
    }

    private static async Task RepositoryIndexAsync(HttpContext context)
    {
        var readyOnly = false;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
                readyOnly = body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("ready", out var r) && r.ValueKind == JsonValueKind.True;
            }
            catch (JsonException ex)
            {
                throw new Inference.InferenceRequestException($"failed to parse the request JSON buffer: {ex.Message}");
            }
        }
        var index = Models(context).Index(readyOnly);
        await HttpJson.WriteAsync(context, w =>
        {
            w.WriteStartArray();
            foreach (var e in index)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                if (e.Version.Length > 0)
                {
                    w.WriteString("version", e.Version);
                }
                if (e.State is not null)
                {
                    w.WriteString("state", e.StateName);
                }
                if (e.Reason.Length > 0)
                {
                    w.WriteString("reason", e.Reason);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>Triton lets a load request carry a config or model files; this server loads only what is on disk, and says so.</summary>
    private static async Task RejectLoadOverridesAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 || (context.Request.ContentLength is null && context.Request.Headers.TransferEncoding.Count == 0))
        {
            return;
        }
        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new Inference.InferenceRequestException($"failed to parse the request JSON buffer: {ex.Message}");
        }
        using (body)
        {
            if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("parameters", out var p)
                && p.ValueKind == JsonValueKind.Object && p.EnumerateObject().Any())
            {
                throw new Inference.InferenceRequestException(
                    $"load parameters ({string.Join(", ", p.EnumerateObject().Select(o => o.Name))}) are not supported: put the config and model files in the repository");
            }
        }
    }

    private static ModelRegistry Models(HttpContext context) => context.RequestServices.GetRequiredService<ModelRegistry>();

    private static SystemSharedMemory SharedMemory(HttpContext context) => context.RequestServices.GetRequiredService<SystemSharedMemory>();

    private static ServerState State(HttpContext context) => context.RequestServices.GetRequiredService<ServerState>();

    private static string? Route(HttpContext context, string key) => context.Request.RouteValues[key] as string;

    private static (string Name, string? Version) Address(HttpContext context) => (Route(context, "name")!, Route(context, "version"));
}
