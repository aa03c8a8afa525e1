using System.Diagnostics;
using Histoscale.Slides.Sources;

namespace Histoscale.Benchmarks.Storage;

/// <summary>
/// A byte source that answers like a slower storage class: every read is delayed by the class's first-byte latency
/// plus its size over the per-stream bandwidth, then served from the wrapped (local) source. Reads in parallel are
/// delayed independently, as parallel requests to a store are. Used by <c>bench storage</c> to compare strategies
/// on the same slide and tile pattern for every class.
/// </summary>
public sealed class ThrottledSource(IByteSource inner, StorageClass storageClass) : IByteSource
{
    // Sleeps and timers are only millisecond-accurate; shorter delays spin (sub-ms classes only, so it costs little).
    private static readonly TimeSpan SpinBelow = TimeSpan.FromMilliseconds(1.5);

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public long Length => inner.Length;

    /// <summary>The class whose latency and bandwidth are emulated.</summary>
    public StorageClass StorageClass => storageClass;

    /// <summary>Waits the class's time for a request of buffer.Length bytes, then reads from the wrapped source.</summary>
    public int Read(long offset, Span<byte> buffer)
    {
        var delay = storageClass.RequestTime(buffer.Length);
        if (delay < SpinBelow)
        {
            Spin(delay);
        }
        else
        {
            Thread.Sleep(delay);
        }
        return inner.Read(offset, buffer);
    }

    /// <summary>Waits the class's time for a request of buffer.Length bytes, then reads from the wrapped source.</summary>
    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var delay = storageClass.RequestTime(buffer.Length);
        if (delay < SpinBelow)
        {
            Spin(delay);
        }
        else
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        return await inner.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the wrapped source.</summary>
    public void Dispose() => inner.Dispose();

    private static void Spin(TimeSpan delay)
    {
        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        while (Stopwatch.GetTimestamp() < until)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
