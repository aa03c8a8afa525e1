namespace Histoscale.Storage.Strategies;

/// <summary>Counters of one source's traffic: what the reader asked for versus what went over the wire.</summary>
public sealed class StorageStats
{
    private long _requests;
    private long _prefetchRequests;
    private long _bytesFetched;
    private long _bytesRequested;
    private long _blockHits;
    private long _diskHits;

    /// <summary>Requests sent to the store (each a ranged GET), prefetches included.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Of <see cref="Requests"/>, those sent ahead of the reader because of a hint.</summary>
    public long PrefetchRequests => Interlocked.Read(ref _prefetchRequests);

    /// <summary>Bytes that came over the wire.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    /// <summary>Bytes the reader asked for (its reads summed).</summary>
    public long BytesRequested => Interlocked.Read(ref _bytesRequested);

    /// <summary>Blocks served from the memory cache.</summary>
    public long BlockHits => Interlocked.Read(ref _blockHits);

    /// <summary>Blocks served from the disk cache.</summary>
    public long DiskHits => Interlocked.Read(ref _diskHits);

    /// <summary>Bytes fetched ÷ bytes asked for: 1.0 is perfect, below 1 means caching served repeats.</summary>
    public double ReadAmplification => BytesRequested == 0 ? 0 : (double)BytesFetched / BytesRequested;

    internal void Request(long bytes, bool prefetch)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _bytesFetched, bytes);
        if (prefetch)
        {
            Interlocked.Increment(ref _prefetchRequests);
        }
    }

    internal void Requested(long bytes) => Interlocked.Add(ref _bytesRequested, bytes);

    internal void BlockHit() => Interlocked.Increment(ref _blockHits);

    internal void DiskHit() => Interlocked.Increment(ref _diskHits);
}
