using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;

namespace Histoscale.KServe;

/// <summary>How a remote backend moves tensor bytes to and from the server (perf_analyzer's <c>--shared-memory</c>).</summary>
public enum SharedMemoryMode
{
    /// <summary>In the request and response messages.</summary>
    None = 0,

    /// <summary>
    /// Through POSIX shared memory (<c>/dev/shm</c>) registered with the server (Triton's system shared memory
    /// extension): only for a client on the server's host, or in its pod with a shared <c>/dev/shm</c>.
    /// </summary>
    System = 1,
}

/// <summary>
/// One in-flight request's shared-memory object: created under /dev/shm by this client, mapped, and registered
/// with the server as a region of the same name. Grown (re-created and re-registered) when a request needs more.
/// </summary>
internal sealed unsafe class SharedMemorySlot : IDisposable
{
    private const string Root = "/dev/shm";
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _start;

    public SharedMemorySlot(long byteSize)
    {
        Name = "histoscale_" + Guid.NewGuid().ToString("N");
        Path = System.IO.Path.Combine(Root, Name);
        ByteSize = byteSize;
        try
        {
            using (var f = new FileStream(Path, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                f.SetLength(byteSize);
            }
            _file = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, byteSize, MemoryMappedFileAccess.ReadWrite);
            _view = _file.CreateViewAccessor(0, byteSize, MemoryMappedFileAccess.ReadWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _file?.Dispose();
            File.Delete(Path);
            throw new IOException($"cannot create the shared-memory object {Path} ({byteSize} bytes): {ex.Message}", ex);
        }
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _start = pointer + _view.PointerOffset;
    }

    /// <summary>The region's name on the server, also the object's key without its leading '/'.</summary>
    public string Name { get; }

    /// <summary>The key the server opens (<c>/NAME</c>).</summary>
    public string Key => "/" + Name;

    public string Path { get; }

    public long ByteSize { get; }

    /// <summary>Whether the server has this region registered.</summary>
    public bool Registered { get; set; }

    public Span<byte> Span(long offset, int length) => new(_start + offset, length);

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        File.Delete(Path);
    }
}

/// <summary>Free slots of a backend (one per request in flight at most).</summary>
internal sealed class SharedMemorySlots
{
    private readonly ConcurrentBag<SharedMemorySlot> _free = [];
    private readonly ConcurrentDictionary<SharedMemorySlot, byte> _all = new();

    public SharedMemorySlot? TryTake() => _free.TryTake(out var slot) ? slot : null;

    public SharedMemorySlot Create(long byteSize)
    {
        var slot = new SharedMemorySlot(byteSize);
        _all[slot] = 0;
        return slot;
    }

    public void Return(SharedMemorySlot slot) => _free.Add(slot);

    public void Forget(SharedMemorySlot slot)
    {
        _all.TryRemove(slot, out _);
        slot.Dispose();
    }

    /// <summary>Every slot made and not forgotten (to unregister and delete at disposal).</summary>
    public IReadOnlyList<SharedMemorySlot> All => [.. _all.Keys];
}
