namespace Histoscale.Storage.Remote;

/// <summary>
/// The synchronous read of a source whose I/O is asynchronous: the fetch runs as the store's async I/O into a
/// pooled buffer (a caller's span cannot cross an await), the calling decode thread waits, then the bytes are copied.
/// </summary>
internal static class BlockingRead
{
    /// <summary>Runs <paramref name="fetch"/> for <paramref name="count"/> bytes and copies what it returned into <paramref name="destination"/>.</summary>
    public static int Into(Span<byte> destination, int count, Func<Memory<byte>, Task<int>> fetch)
    {
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var n = fetch(rented.AsMemory(0, count)).GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(destination);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
