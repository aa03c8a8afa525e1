using System.Buffers;

namespace Histoscale.Inference.Tensors;

/// <summary>
/// A pool for the large buffers of serving (batch tensors, request tensor bytes) that keeps at most
/// <see cref="MaxRetainedBytes"/> bytes while idle. Large buffers are sized in 64 KiB steps (so a batch-of-4 request
/// does not hold a 4 MiB power-of-two array) and kept per exact size in one place, not per thread or per core as
/// <see cref="ArrayPool{T}.Shared"/> keeps them, so what the process retains is bounded and predictable. Small buffers
/// (≤ 64 KiB, never on the large object heap) go to <see cref="ArrayPool{T}.Shared"/>. Thread-safe; one per owner
/// (server, batcher), no process-wide state.
/// </summary>
internal sealed class BoundedBufferPool
{
    /// <summary>Buffers up to this size come from the shared array pool.</summary>
    public const int SmallLimit = 64 * 1024;

    private readonly Dictionary<int, Stack<byte[]>> _free = [];
    private readonly Lock _lock = new();
    private long _retained;
    private long _allocated;

    /// <param name="maxRetainedBytes">Bytes of returned buffers kept for reuse; beyond it returned buffers are left to the GC.</param>
    public BoundedBufferPool(long maxRetainedBytes) => MaxRetainedBytes = Math.Max(0, maxRetainedBytes);

    /// <summary>Bytes of idle buffers the pool keeps at most.</summary>
    public long MaxRetainedBytes { get; }

    /// <summary>Bytes of idle buffers the pool keeps now.</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_lock)
            {
                return _retained;
            }
        }
    }

    /// <summary>Large buffers this pool had to allocate (a steady state stops allocating).</summary>
    public long AllocatedBuffers => Interlocked.Read(ref _allocated);

    /// <summary>The size class of a large request: the next multiple of 64 KiB.</summary>
    public static int SizeClass(int length) => (int)Math.Min(Array.MaxLength, ((long)length + SmallLimit - 1) / SmallLimit * SmallLimit);

    /// <summary>A buffer of at least <paramref name="length"/> bytes, contents unspecified; give it back with <see cref="Return"/>.</summary>
    public byte[] Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= SmallLimit)
        {
            return ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        }
        var size = SizeClass(length);
        lock (_lock)
        {
            if (_free.TryGetValue(size, out var stack) && stack.TryPop(out var buffer))
            {
                _retained -= size;
                return buffer;
            }
            // A somewhat larger idle buffer serves too (mixed request sizes then reuse what is retained).
            var best = 0;
            foreach (var (s, free) in _free)
            {
                if (s > size && s <= 2L * size && free.Count > 0 && (best == 0 || s < best))
                {
                    best = s;
                }
            }
            if (best > 0)
            {
                _retained -= best;
                return _free[best].Pop();
            }
        }
        Interlocked.Increment(ref _allocated);
        return GC.AllocateUninitializedArray<byte>(size);
    }

    /// <summary>Gives a buffer from <see cref="Rent"/> back; kept while the pool is under its limit.</summary>
    public void Return(byte[] buffer)
    {
        if (buffer.Length <= SmallLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        if (buffer.Length % SmallLimit != 0)
        {
            return; // not one of ours: leave it to the GC
        }
        lock (_lock)
        {
            if (_retained + buffer.Length > MaxRetainedBytes)
            {
                return;
            }
            if (!_free.TryGetValue(buffer.Length, out var stack))
            {
                _free[buffer.Length] = stack = new Stack<byte[]>();
            }
            stack.Push(buffer);
            _retained += buffer.Length;
        }
    }

    /// <summary>Drops every idle buffer (for callers that know a burst is over).</summary>
    public void Trim()
    {
        lock (_lock)
        {
            _free.Clear();
            _retained = 0;
        }
    }
}
