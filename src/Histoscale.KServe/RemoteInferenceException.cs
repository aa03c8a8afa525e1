namespace Histoscale.KServe;

/// <summary>
/// A KServe server answered with an error that is neither the request's fault (<see cref="InferenceRequestException"/>)
/// nor a "try again" (<see cref="InferenceUnavailableException"/>): an internal server error, an unexpected response.
/// <see cref="Status"/> is the gRPC status name or the HTTP status code.
/// </summary>
public sealed class RemoteInferenceException(string status, string message, Exception? inner = null)
    : Exception($"{status}: {message}", inner)
{
    public string Status { get; } = status;
}
