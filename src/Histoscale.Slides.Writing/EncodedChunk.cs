using System.Buffers;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Compressed bytes of one tile or strip in a rented array. The owner disposes it once written, so encoding a
/// slide rents and returns buffers instead of allocating one per tile.
/// </summary>
public struct EncodedChunk : IDisposable
{
    private byte[]? _array;

    internal EncodedChunk(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    /// <summary>Number of compressed bytes (the rented array may be larger).</summary>
    public int Length { get; private set; }

    /// <summary>The compressed bytes; empty after <see cref="Dispose"/>.</summary>
    public readonly ReadOnlySpan<byte> Span => _array is null ? default : _array.AsSpan(0, Length);

    /// <summary>Returns the buffer to the pool; the chunk is empty afterwards.</summary>
    public void Dispose()
    {
        if (_array is not null)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = null;
            Length = 0;
        }
    }
}

/// <summary>An append-only byte buffer over rented arrays that becomes an <see cref="EncodedChunk"/>.</summary>
internal sealed class ChunkBuilder
{
    private byte[] _array;
    private int _length;

    public ChunkBuilder(int capacity) => _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    public int Length => _length;

    public Span<byte> GetSpan(int size)
    {
        if (_length + size > _array.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, _length + size));
            _array.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = bigger;
        }
        return _array.AsSpan(_length, size);
    }

    public void Advance(int count) => _length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _length += bytes.Length;
    }

    public void WriteByte(byte b)
    {
        GetSpan(1)[0] = b;
        _length++;
    }

    /// <summary>Hands the buffer over; the builder must not be used afterwards.</summary>
    public EncodedChunk ToChunk()
    {
        var chunk = new EncodedChunk(_array, _length);
        _array = [];
        _length = 0;
        return chunk;
    }
}
