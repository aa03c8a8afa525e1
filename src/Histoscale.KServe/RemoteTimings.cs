using System.Diagnostics;

namespace Histoscale.KServe;

/// <summary>
/// Client-side time a remote backend spends preparing requests ("Client Send") and turning responses into tensors
/// ("Client Recv"), as perf_analyzer reports them; cumulative, thread-safe.
/// </summary>
public sealed class RemoteTimings
{
    private long _requests, _sendTicks, _recvTicks;

    /// <summary>Requests completed.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Total time spent building and serialising requests ("Client Send").</summary>
    public TimeSpan Send => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _sendTicks));

    /// <summary>Total time spent deserialising responses into tensors ("Client Recv").</summary>
    public TimeSpan Recv => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _recvTicks));

    internal void Record(long sendTicks, long recvTicks)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _sendTicks, sendTicks);
        Interlocked.Add(ref _recvTicks, recvTicks);
    }
}
