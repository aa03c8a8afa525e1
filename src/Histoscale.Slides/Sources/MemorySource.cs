namespace Histoscale.Slides.Sources;

/// <summary>A slide held in memory (tests, fuzzing, small files fetched whole).</summary>
public sealed class MemorySource(ReadOnlyMemory<byte> bytes, string name = "memory") : IByteSource
{
    /// <inheritdoc />
    public string Name { get; } = name;

    /// <inheritdoc />
    public long Length => bytes.Length;

    /// <inheritdoc />
    public int Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset >= bytes.Length)
        {
            return 0;
        }
        var n = (int)Math.Min(buffer.Length, bytes.Length - offset);
        bytes.Span.Slice((int)offset, n).CopyTo(buffer);
        return n;
    }

    /// <inheritdoc />
    public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(offset, buffer.Span));

    /// <summary>Does nothing: the memory belongs to the caller.</summary>
    public void Dispose()
    {
    }
}
