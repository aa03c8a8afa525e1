namespace Histoscale.Slides.Sources;

/// <summary>
/// Random-access bytes of one slide file, wherever it lives. Reads are positional (no shared seek state), so
/// one source serves many threads at once. Both sync and async reads are first-class: local files read
/// synchronously on the decode threads (cheapest), remote sources overlap requests asynchronously.
/// </summary>
public interface IByteSource : IDisposable
{
    /// <summary>Path or URI, for error messages.</summary>
    string Name { get; }

    /// <summary>Total length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// What the bytes are (size plus ETag/version, modification time or a hash of the ends), taken when the source
    /// was opened; lets a caller tell the same slide from another one under the same name. Null when unknown.
    /// </summary>
    SourceIdentity? Identity => null;

    /// <summary>Reads up to buffer.Length bytes at offset; returns bytes read (fewer only at end of file).</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Reads up to buffer.Length bytes at offset; returns bytes read (fewer only at end of file).</summary>
    ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);
}
