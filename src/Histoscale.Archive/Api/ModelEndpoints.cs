using Histoscale.Inference.Repository;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive.Api;

/// <summary><c>GET /models</c>: the model repository's models and versions, for choosing what to run.</summary>
internal static class ModelEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ArchiveApi api)
    {
        app.MapGet(ArchiveApi.Prefix + "/models", (Func<HttpContext, Task<IResult>>)(async c =>
        {
            var (_, denied) = await api.AuthorizeAsync(c, ArchiveRole.Read, null);
            if (denied is not null)
            {
                return denied;
            }
            if (api.Archive.Options.ModelRepository is not { } root)
            {
                return Results.Json(Array.Empty<object>(), ArchiveApi.Json);
            }
            var index = new ModelRepository(root).Index();
            return Results.Json(index.Select(e => new { name = e.Name, versions = e.Versions, error = e.Error }), ArchiveApi.Json);
        })).WithMetadata(new ArchiveEndpointInfo("Models in the model repository, with their versions", ArchiveRole.Read));
    }
}
