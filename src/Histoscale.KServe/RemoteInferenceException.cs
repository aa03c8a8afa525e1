namespace Histoscale.KServe;

/// <summary>
/// A KServe server answered with an error that is neither the request's fault (<see cref="Histoscale.Inference.InferenceRequestException"/>)
/// nor a "try again" (<see cref="Histoscale.Inference.InferenceUnavailableException"/>): an internal server error, an unexpected response.
/// <see cref="Status"/> is the gRPC status name or the HTTP status code.
/// </summary>
public sealed class RemoteInferenceException(string status, string message, Exception? inner = null)
    : Exception($"{status}: {message}", inner)
{
    /// <summary>The gRPC status name (e.g. <c>INTERNAL</c>) or the HTTP status code (e.g. <c>500</c>).</summary>
    public string Status { get; } = status;
}
