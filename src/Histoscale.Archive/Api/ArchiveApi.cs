using System.Text.Json;
using Histoscale.Archive.Auth;
using Histoscale.Archive.Catalog;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Archive.Api;

/// <summary>Metadata every archive endpoint carries: what it does and the role it needs (for the OpenAPI document and the auth matrix).</summary>
/// <param name="Summary">One line for the OpenAPI document.</param>
/// <param name="Role">The role needed, in the slide's collection where there is one; null for public endpoints.</param>
internal sealed record ArchiveEndpointInfo(string Summary, ArchiveRole? Role);

/// <summary>What the endpoint handlers share: the archive, answers in one shape, and authorisation.</summary>
internal sealed class ArchiveApi(SlideArchive archive)
{
    public const string Prefix = "/api/v1";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public SlideArchive Archive => archive;

    public static IResult Error(int status, string message) =>
        Results.Json(new { error = message }, Json, statusCode: status);

    /// <summary>The caller when it holds <paramref name="role"/> (in <paramref name="collection"/>, or anywhere when null); else the 401/403 to answer.</summary>
    public async ValueTask<(Caller? Caller, IResult? Denied)> AuthorizeAsync(HttpContext context, ArchiveRole role, string? collection)
    {
        var caller = await archive.Auth.ResolveAsync(context).ConfigureAwait(false);
        if (caller is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return (null, Error(StatusCodes.Status401Unauthorized, "the bearer token is not valid"));
        }
        var allowed = collection is null ? caller.CanAnywhere(role) : caller.Can(role, collection);
        if (allowed)
        {
            return (caller, null);
        }
        if (!caller.Authenticated && caller.Grants.Count == 0)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return (null, Error(StatusCodes.Status401Unauthorized, "authentication required: send Authorization: Bearer TOKEN"));
        }
        var where = collection is null ? "any collection" : $"collection '{collection}'";
        return (null, Error(StatusCodes.Status403Forbidden, $"this token does not have the {role.ToString().ToLowerInvariant()} role in {where}"));
    }

    /// <summary>
    /// The slide and an authorised caller, or the 401/403/404 to answer. The slide's readers are held until the
    /// response has been sent, so a rescan meanwhile cannot close them under the request.
    /// </summary>
    public async ValueTask<(CatalogSlide? Slide, IResult? Denied)> SlideAsync(HttpContext context, string id, ArchiveRole role)
    {
        if (archive.Catalog.TryLease(id, out var slide, out var lease))
        {
            context.Response.RegisterForDispose(lease);
        }
        else
        {
            // Authentication first, so an anonymous client cannot probe which ids exist.
            var (_, denied) = await AuthorizeAsync(context, ArchiveRole.Read, null).ConfigureAwait(false);
            return (null, denied ?? Error(StatusCodes.Status404NotFound, $"slide '{Shorten(id)}' not found"));
        }
        var (_, refused) = await AuthorizeAsync(context, role, slide.Collection).ConfigureAwait(false);
        return refused is null ? (slide, null) : (null, refused);
    }

    /// <summary>Echoes client-given text into a message without letting it grow the answer.</summary>
    public static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
