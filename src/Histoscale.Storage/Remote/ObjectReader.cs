using Histoscale.Slides.Sources;

namespace Histoscale.Storage.Remote;

/// <summary>
/// One object in a store, spoken to with single raw requests: no retries, no caching, no limits (those are
/// layered above, once for every store). Implementations map their SDK's failures to
/// <see cref="StorageRequestException"/> so the layer above can tell a retry from a final answer.
/// </summary>
internal abstract class ObjectReader : IDisposable
{
    protected ObjectReader(string name) => Name = name;

    /// <summary>The URI as the user wrote it.</summary>
    public string Name { get; }

    /// <summary>Object size and content identity: ETag, version id or generation, Last-Modified (one metadata request).</summary>
    public abstract Task<SourceIdentity> GetIdentityAsync(CancellationToken cancellationToken);

    /// <summary>One ranged GET that fills <paramref name="destination"/> exactly, or throws (a short body is truncation).</summary>
    public abstract Task ReadRangeAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
