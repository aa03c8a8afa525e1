namespace Histoscale.Storage;

/// <summary>
/// Retry budget for one request. Timeouts, dropped connections, truncated bodies, 5xx and throttling (429, 503
/// SlowDown) are retried with exponential backoff and full jitter; 403/404 fail at once. The budget is finite in
/// both count and time (attempts × timeout + backoff), so a read never hangs.
/// </summary>
public sealed record RetryOptions
{
    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Median first backoff; doubles each retry, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound on one backoff, however many retries came before.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Limit for one request, headers and body; a stalled stream is abandoned and retried after it.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
