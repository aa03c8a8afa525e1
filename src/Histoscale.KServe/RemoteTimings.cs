using System.Diagnostics;

namespace Histoscale.KServe;

/// <summary>
/// Client-side time a remote backend spends preparing requests ("Client Send") and turning responses into tensors
/// ("Client Recv"), as perf_analyzer reports them; cumulative, thread-safe.
/// </summary>
public sealed class RemoteTimings
{
    private long _requests, _sendTicks, _recvTicks;

    public long Requests => Interlocked.Read(ref _requests);

    public TimeSpan Send => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _sendTicks));

    public TimeSpan Recv => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _recvTicks));

    internal void Record(long sendTicks, long recvTicks)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _sendTicks, sendTicks);
        Interlocked.Add(ref _recvTicks, recvTicks);
    }
}
