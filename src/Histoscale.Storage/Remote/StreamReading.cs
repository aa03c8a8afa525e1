namespace Histoscale.Storage.Remote;

/// <summary>Body reading shared by the stores: exact fills straight into the caller's memory, truncation detected.</summary>
internal static class StreamReading
{
    private static readonly byte[] Probe = new byte[1]; // contents never looked at, so sharing it across threads is harmless

    /// <summary>Reads exactly destination.Length bytes; a body that ends early is a (retryable) truncation, never a short tile.</summary>
    public static async Task ReadExactlyAsync(Stream body, Memory<byte> destination, string uri, long offset, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = await body.ReadAsync(destination[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw StorageRequestException.Truncated(uri, offset, destination.Length, total);
            }
            total += n;
        }
        // A body longer than asked for means the store ignored the range: reading on would be wasted bytes.
        if (await body.ReadAsync(Probe, cancellationToken).ConfigureAwait(false) > 0)
        {
            throw new StorageRequestException(uri, $"store sent more than the {destination.Length} bytes asked for at offset {offset} (range ignored)", transient: false);
        }
    }
}

/// <summary>
/// A write-only stream over caller memory, for SDKs that download into a Stream (GCS): bytes land directly in
/// the destination block, and a body longer than the range is refused instead of overrunning it.
/// </summary>
internal sealed class MemoryWriteStream(Memory<byte> destination, string uri, long offset) : Stream
{
    public int Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > destination.Length - Written)
        {
            throw new StorageRequestException(uri, $"store sent more than the {destination.Length} bytes asked for at offset {offset} (range ignored)", transient: false);
        }
        buffer.CopyTo(destination.Span[Written..]);
        Written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
