namespace Histoscale.Slides.Sources;

/// <summary>A span of bytes in a source: where one stored tile lies, or one request to fetch.</summary>
/// <param name="Offset">First byte, from the start of the source.</param>
/// <param name="Length">Number of bytes.</param>
public readonly record struct ByteRange(long Offset, int Length)
{
    /// <summary>The offset just past the range (exclusive).</summary>
    public long End => Offset + Length;
}

/// <summary>
/// A byte source that can fetch ahead of the reader. Whoever knows what comes next (the pipeline's tile plan,
/// a viewer's neighbouring viewports) hands over the byte ranges; the source fetches them in the background so
/// the later synchronous <see cref="IByteSource.Read"/> is served from memory. Hints are advisory: a source may
/// drop them (memory budget, cancellation) and a read of a range never hinted still works.
/// </summary>
public interface IPrefetchingSource : IByteSource
{
    /// <summary>Queues background fetches of <paramref name="ranges"/> (in the order given); returns at once.</summary>
    void Prefetch(IReadOnlyList<ByteRange> ranges);
}
