using Histoscale.Inference;

namespace Histoscale.KServe;

/// <summary>
/// Bounded retries with jittered exponential backoff, for answers that say "try again" (UNAVAILABLE, 503, connection
/// refused while a server restarts). Jitter spreads the retries of many pipelined requests so they do not hit a
/// recovering server in lock-step. Only <see cref="InferenceUnavailableException"/> is retried.
/// </summary>
internal sealed class RetryPolicy(RemoteBackendOptions options)
{
    public async ValueTask<T> RunAsync<T>(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        var maxAttempts = Math.Max(1, options.MaxAttempts);
        for (var n = 1; ; n++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (InferenceUnavailableException) when (n < maxAttempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(n), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Delay before retry <paramref name="retry"/> (1-based): half fixed, half random ("equal jitter").</summary>
    public TimeSpan Backoff(int retry)
    {
        var ceiling = Math.Min(options.MaxBackoff.TotalMilliseconds, options.InitialBackoff.TotalMilliseconds * Math.Pow(2, retry - 1));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }
}
