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

    /// <summary>Reads up to buffer.Length bytes at offset; returns bytes read (fewer only at end of file).</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Reads up to buffer.Length bytes at offset; returns bytes read (fewer only at end of file).</summary>
    ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);
}
