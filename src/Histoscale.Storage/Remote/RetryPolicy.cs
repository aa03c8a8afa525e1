using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Histoscale.Storage.Remote;

/// <summary>
/// The one retry policy of every remote read (object stores, plain URLs, DICOMweb): per-attempt timeout inside
/// exponential backoff with jitter, retrying transient <see cref="StorageRequestException"/>s, timeouts and network
/// failures, never 403/404.
/// </summary>
internal static class RetryPolicy
{
    public static bool IsNetworkFailure(Exception ex) => ex is HttpRequestException or IOException or System.Net.Sockets.SocketException;

    public static ResiliencePipeline Build(RetryOptions retry, Action onRetry)
    {
        var builder = new ResiliencePipelineBuilder();
        if (retry.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                ShouldHandle = new PredicateBuilder()
                    .Handle<StorageRequestException>(e => e.Transient)
                    .Handle<TimeoutRejectedException>()
                    .Handle<Exception>(IsNetworkFailure),
                OnRetry = _ =>
                {
                    onRetry();
                    return ValueTask.CompletedTask;
                },
            });
        }
        // Inside the retry, so the timeout bounds each attempt (a stalled body included), not the whole budget.
        builder.AddTimeout(retry.AttemptTimeout);
        return builder.Build();
    }
}
