using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Histoscale.Server;

/// <summary>
/// Which of the three listeners (HTTP 8000, gRPC 8001, metrics 8002) a connection came in on. Each listener tags its
/// connections and each endpoint declares its role, so an endpoint answers only on its own port, as in Triton —
/// by listener rather than by Host header, which proxies and Kubernetes services rewrite.
/// </summary>
internal enum ListenerRole
{
    Http,
    Grpc,
    Metrics,
}

internal static class ListenerRoles
{
    private const string Key = "histoscale.listener";

    /// <summary>Connection middleware for one listener: remembers its role on every connection it accepts.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Tag(ListenerRole role) => next => connection =>
    {
        connection.Items[Key] = role;
        return next(connection);
    };

    /// <summary>The listener a request's connection came in on (null outside Kestrel's tagged listeners).</summary>
    public static ListenerRole? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items is { } items && items.TryGetValue(Key, out var role) && role is ListenerRole r ? r : null;

    /// <summary>Request middleware (after routing): an endpoint reached through another listener is not found.</summary>
    public static async Task FilterAsync(HttpContext context, RequestDelegate next)
    {
        var wanted = context.GetEndpoint()?.Metadata.GetMetadata<ListenerRoleMetadata>()?.Role;
        if (wanted is { } role && Of(context) is { } actual && actual != role)
        {
            context.SetEndpoint(null);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (wanted == ListenerRole.Grpc && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // The REST body limit is not meant for gRPC: a stream carries many messages, each held to the gRPC
            // message limit instead (InferenceServerOptions.MaxGrpcMessageBytes).
            limit.MaxRequestBodySize = null;
        }
        await next(context).ConfigureAwait(false);
    }
}

/// <summary>Endpoint metadata naming the listener an endpoint belongs to.</summary>
internal sealed record ListenerRoleMetadata(ListenerRole Role);
