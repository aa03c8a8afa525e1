namespace Histoscale.Storage.Remote;

/// <summary>
/// A request to a store failed. <see cref="Transient"/> says whether trying again can help (timeouts, dropped
/// connections, truncated bodies, 5xx, 429/503 throttling) or not (403, 404, bad requests).
/// </summary>
public sealed class StorageRequestException(string uri, string message, bool transient, int? status = null, Exception? inner = null)
    : Exception($"{uri}: {message}", inner)
{
    /// <summary>The object's URI.</summary>
    public string Uri { get; } = uri;

    /// <summary>Whether retrying may succeed (timeouts, dropped connections, truncation, 408/429/5xx).</summary>
    public bool Transient { get; } = transient;

    /// <summary>HTTP status where the store answered; null for network-level failures.</summary>
    public int? Status { get; } = status;

    /// <summary>Only the cause, without the URI (the final <see cref="Slides.SlideException"/> names it once).</summary>
    public string Cause { get; } = message;

    /// <summary>Classifies an HTTP status the way every store's docs do.</summary>
    public static StorageRequestException FromStatus(string uri, int status, string? detail, Exception? inner = null)
    {
        var what = status switch
        {
            404 => "not found (HTTP 404)",
            403 => "access denied (HTTP 403): check the credentials and the object's permissions",
            401 => "not authenticated (HTTP 401): no or invalid credentials",
            416 => "range not satisfiable (HTTP 416)",
            429 => "throttled (HTTP 429)",
            503 => "service unavailable or throttled (HTTP 503)",
            _ => $"HTTP {status}",
        };
        if (!string.IsNullOrWhiteSpace(detail))
        {
            what += $" [{detail}]";
        }
        return new StorageRequestException(uri, what, IsTransientStatus(status), status, inner);
    }

    /// <summary>Whether an HTTP status is worth retrying: 408, 429 and every 5xx.</summary>
    public static bool IsTransientStatus(int status) => status is 408 or 429 or >= 500;

    /// <summary>A transient failure for a response body shorter than the range asked for.</summary>
    /// <param name="uri">The object's URI.</param>
    /// <param name="offset">Offset of the requested range, in bytes.</param>
    /// <param name="expected">Bytes requested.</param>
    /// <param name="got">Bytes received.</param>
    public static StorageRequestException Truncated(string uri, long offset, int expected, long got) =>
        new(uri, $"truncated response at offset {offset}: expected {expected} bytes, got {got}", transient: true);
}
