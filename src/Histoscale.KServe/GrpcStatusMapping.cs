using Grpc.Core;
using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>Turns a gRPC failure from a KServe server into Histoscale's typed inference errors.</summary>
internal static class GrpcStatusMapping
{
    public static Exception ToException(RpcException ex, string what) => ex.StatusCode switch
    {
        // UNAVAILABLE covers a full queue, a model shutting down and a refused/reset connection; a deadline is
        // worth another try too.
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted
            => new InferenceUnavailableException($"{what}: {ex.StatusCode}: {ex.Status.Detail}"),
        // A connection the server closed (a restart's GOAWAY) under a call: grpc-dotnet reports INTERNAL with the
        // HTTP failure inside; the server never ran the call, so it is as retryable as a refused connection.
        StatusCode.Internal when ex.Status.DebugException is HttpRequestException or IOException
            => new InferenceUnavailableException($"{what}: connection lost: {ex.Status.Detail}"),
        StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition
            => new InferenceRequestException($"{what}: {ex.Status.Detail}"),
        _ => new RemoteInferenceException(ex.StatusCode.ToString(), $"{what}: {ex.Status.Detail}", ex),
    };
}
