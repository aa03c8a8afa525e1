using Histoscale.Inference;
using Polly;
using Polly.Retry;

namespace Histoscale.KServe;

/// <summary>
/// The remote backends' retry policy: Polly's retry, configured for answers that say "try again" (UNAVAILABLE, 503,
/// connection refused while a server restarts), which the transports raise as <see cref="InferenceUnavailableException"/>;
/// every other failure is the request's or the model's and is final. Bounded attempts with jittered exponential
/// backoff, so many pipelined requests do not hit a recovering server in lock-step.
/// </summary>
internal static class RemoteRetry
{
    public static ResiliencePipeline Create(RemoteBackendOptions options)
    {
        if (options.MaxAttempts <= 1)
        {
            return ResiliencePipeline.Empty;
        }
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.InitialBackoff,
                MaxDelay = options.MaxBackoff,
                ShouldHandle = new PredicateBuilder().Handle<InferenceUnavailableException>(),
            })
            .Build();
    }
}
