using Histoscale.Inference;

namespace Histoscale.Server.Kserve;

/// <summary>
/// A request body whose bytes are reserved from the <see cref="MemoryBudget"/> as they are read: for bodies whose size
/// is not known up front (chunked transfer encoding) or not the size they will take (gzip/deflate, counted after
/// decompression). Reading beyond the budget throws <see cref="InferenceUnavailableException"/> (503); the caller
/// releases <see cref="Reserved"/> once the request has been answered.
/// </summary>
internal sealed class BudgetedReadStream(Stream inner, MemoryBudget budget) : Stream
{
    private long _reserved;

    /// <summary>Bytes reserved so far (everything read).</summary>
    public long Reserved => Interlocked.Read(ref _reserved);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    private int Count(int read)
    {
        if (read > 0)
        {
            budget.Reserve(read);
            Interlocked.Add(ref _reserved, read);
        }
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
