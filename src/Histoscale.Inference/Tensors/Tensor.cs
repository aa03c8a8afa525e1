using System.Buffers;
using System.Runtime.InteropServices;

namespace Histoscale.Inference.Tensors;

/// <summary>
/// A dense, row-major tensor: a datatype, a concrete shape and one contiguous block of bytes.
/// Tensors made by <see cref="Rent"/> borrow their bytes from <see cref="ArrayPool{T}.Shared"/> and give them back on
/// <see cref="Dispose"/>, so steady-state batches allocate nothing large. Views (<see cref="Wrap"/>,
/// <see cref="SliceBatch"/>) never own memory and their disposal is a no-op.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly long[] _shape;
    private byte[]? _rented;
    private BoundedBufferPool? _pool;
    private SharedTensors? _shared;
    private Memory<byte> _data;
    private bool _disposed;

    private Tensor(TensorDataType dataType, long[] shape, Memory<byte> data, byte[]? rented, BoundedBufferPool? pool = null, SharedTensors? shared = null)
    {
        DataType = dataType;
        _shape = shape;
        _data = data;
        _rented = rented;
        _pool = pool;
        _shared = shared;
    }

    /// <summary>Element type.</summary>
    public TensorDataType DataType { get; }

    /// <summary>Concrete dimensions (no -1).</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (product of the shape).</summary>
    public long ElementCount => ElementCountOf(_shape);

    /// <summary>Size of dimension 0, the batch dimension for batched models.</summary>
    public int BatchSize => _shape.Length == 0 ? 1 : checked((int)_shape[0]);

    /// <summary>Size of the data in bytes.</summary>
    public int ByteLength => _data.Length;

    /// <summary>The tensor's bytes, little-endian, row-major.</summary>
    public Memory<byte> Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _data;
        }
    }

    /// <summary>The tensor's bytes as a span (see <see cref="Memory"/>).</summary>
    /// <exception cref="ObjectDisposedException">The tensor has been disposed.</exception>
    public Span<byte> Bytes => Memory.Span;

    /// <summary>A copy of the shape, for APIs that want an array.</summary>
    public long[] ShapeArray() => (long[])_shape.Clone();

    /// <summary>Allocates a tensor whose bytes come from the shared array pool (contents are unspecified unless <paramref name="clear"/>).</summary>
    public static Tensor Rent(TensorDataType dataType, ReadOnlySpan<long> shape, bool clear = false)
    {
        var bytes = ByteLengthOf(dataType, shape);
        var array = ArrayPool<byte>.Shared.Rent(Math.Max(bytes, 1));
        var memory = array.AsMemory(0, bytes);
        if (clear)
        {
            memory.Span.Clear();
        }
        return new Tensor(dataType, shape.ToArray(), memory, array);
    }

    /// <summary>
    /// A tensor over a buffer of <paramref name="pool"/> with room for <paramref name="capacityBytes"/> bytes (at
    /// least the shape's), so that batches of every size share one size class; disposal returns the buffer.
    /// </summary>
    internal static Tensor RentFrom(BoundedBufferPool pool, TensorDataType dataType, ReadOnlySpan<long> shape, int capacityBytes = 0)
    {
        var bytes = ByteLengthOf(dataType, shape);
        var array = pool.Rent(Math.Max(bytes, capacityBytes));
        return new Tensor(dataType, shape.ToArray(), array.AsMemory(0, bytes), array, pool);
    }

    /// <summary>
    /// Items [start, start+count) of <paramref name="parent"/> (a tensor owned by <paramref name="owner"/>) without a
    /// copy; disposing the view releases one reference on the owner, which frees the parent after the last one.
    /// </summary>
    internal static Tensor SharedSlice(Tensor parent, int start, int count, SharedTensors owner)
    {
        using var view = parent.SliceBatch(start, count);
        owner.AddReference();
        return new Tensor(parent.DataType, view.ShapeArray(), view._data, null, null, owner);
    }

    /// <summary>Views caller-owned memory as a tensor; the caller keeps ownership and must keep it alive.</summary>
    public static Tensor Wrap(TensorDataType dataType, ReadOnlySpan<long> shape, Memory<byte> data)
    {
        var bytes = ByteLengthOf(dataType, shape);
        if (data.Length != bytes)
        {
            throw new ArgumentException(
                $"{dataType.ToKServeName()} tensor of shape [{string.Join(',', shape.ToArray())}] needs {bytes} bytes, got {data.Length}",
                nameof(data));
        }
        return new Tensor(dataType, shape.ToArray(), data, null);
    }

    /// <summary>Copies values into a new pooled tensor (convenient for tests and small tensors).</summary>
    public static Tensor FromValues<T>(TensorDataType dataType, ReadOnlySpan<T> values, params long[] shape) where T : unmanaged
    {
        var tensor = Rent(dataType, shape);
        var target = tensor.AsSpan<T>();
        if (values.Length != target.Length)
        {
            tensor.Dispose();
            throw new ArgumentException($"shape [{string.Join(',', shape)}] holds {target.Length} elements, got {values.Length}", nameof(values));
        }
        values.CopyTo(target);
        return tensor;
    }

    /// <summary>The elements as <typeparamref name="T"/>; T must have the datatype's element size.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (Marshal.SizeOf<T>() != DataType.ElementSize())
        {
            throw new InvalidOperationException($"cannot view {DataType.ToKServeName()} elements as {typeof(T).Name}");
        }
        return MemoryMarshal.Cast<byte, T>(Bytes);
    }

    /// <summary>A copy of the elements as <typeparamref name="T"/>, which must have the datatype's element size.</summary>
    public T[] ToArray<T>() where T : unmanaged => AsSpan<T>().ToArray();

    /// <summary>
    /// A view of items [start, start+count) along dimension 0 sharing this tensor's memory; used to run a partial
    /// batch from a full-size buffer without copying. The view must not outlive this tensor.
    /// </summary>
    public Tensor SliceBatch(int start, int count)
    {
        if (_shape.Length == 0)
        {
            throw new InvalidOperationException("a scalar tensor has no batch dimension");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > _shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"slice [{start}, {start + count}) exceeds batch {_shape[0]}");
        }
        var itemBytes = _shape[0] == 0 ? 0 : _data.Length / (int)_shape[0];
        var shape = (long[])_shape.Clone();
        shape[0] = count;
        return new Tensor(DataType, shape, Memory.Slice(start * itemBytes, count * itemBytes), null);
    }

    /// <summary>Returns a rented buffer to the pool (no-op for views); the tensor is unusable afterwards. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _data = default;
        if (_rented is { } array)
        {
            _rented = null;
            if (_pool is { } pool)
            {
                pool.Return(array);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
        if (_shared is { } shared)
        {
            _shared = null;
            shared.Release();
        }
    }

    /// <summary>"DATATYPE[d0,d1,...]", e.g. <c>FP32[64,3,224,224]</c>.</summary>
    public override string ToString() => $"{DataType.ToKServeName()}[{string.Join(',', _shape)}]";

    /// <summary>Product of the dimensions (1 for an empty shape).</summary>
    /// <exception cref="ArgumentException">A dimension is negative (dynamic).</exception>
    /// <exception cref="OverflowException">The count overflows a long.</exception>
    public static long ElementCountOf(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"shape [{string.Join(',', shape.ToArray())}] has a dynamic (-1) dimension; tensors need concrete shapes");
            }
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>Bytes a dense tensor of this datatype and shape occupies.</summary>
    /// <exception cref="ArgumentException">A dimension is negative (dynamic).</exception>
    /// <exception cref="NotSupportedException">The datatype has no fixed element size (<see cref="TensorDataType.Bytes"/>).</exception>
    /// <exception cref="OverflowException">The size exceeds <see cref="int.MaxValue"/>.</exception>
    public static int ByteLengthOf(TensorDataType dataType, ReadOnlySpan<long> shape)
    {
        var size = dataType.ElementSize();
        if (size == 0)
        {
            throw new NotSupportedException($"{dataType.ToKServeName()} tensors have no fixed element size and cannot be held in a dense tensor");
        }
        return checked((int)(ElementCountOf(shape) * size));
    }
}
