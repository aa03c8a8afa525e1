using Grpc.Core;
using Histoscale.Inference;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Server.Kserve;

/// <summary>
/// Triton's status mapping, one table for both transports: the request's fault → 400 / INVALID_ARGUMENT, unknown
/// model or version → 404 / NOT_FOUND, try again later (queue full, shutting down) and load/unload outside explicit
/// model control → 503 / UNAVAILABLE, anything else → 500 / INTERNAL.
/// </summary>
internal static class ErrorMapping
{
    public static int HttpStatus(Exception ex) => ex switch
    {
        // InvalidDataException: a compressed request body that does not decompress.
        InferenceRequestException or ModelConfigException or InvalidDataException => StatusCodes.Status400BadRequest,
        BadHttpRequestException bad => bad.StatusCode,
        ModelNotFoundException => StatusCodes.Status404NotFound,
        InferenceUnavailableException or ModelControlDisabledException => StatusCodes.Status503ServiceUnavailable,
        OperationCanceledException => 499, // client closed the request (nginx's convention); nobody reads it
        _ => StatusCodes.Status500InternalServerError,
    };

    public static StatusCode GrpcStatus(Exception ex) => ex switch
    {
        InferenceRequestException or ModelConfigException => StatusCode.InvalidArgument,
        ModelNotFoundException => StatusCode.NotFound,
        InferenceUnavailableException or ModelControlDisabledException => StatusCode.Unavailable,
        OperationCanceledException => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };

    /// <summary>Whether the error is one the protocol expects (reported as is) rather than a server bug (logged).</summary>
    public static bool IsExpected(Exception ex) =>
        ex is InferenceRequestException or ModelConfigException or ModelNotFoundException or InferenceUnavailableException
            or ModelControlDisabledException or OperationCanceledException or BadHttpRequestException or InvalidDataException;

    public static RpcException ToRpc(Exception ex) => ex as RpcException ?? new RpcException(new Status(GrpcStatus(ex), ex.Message));
}
