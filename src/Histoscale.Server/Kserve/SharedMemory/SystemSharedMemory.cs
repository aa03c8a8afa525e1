using System.Buffers;
using System.IO.MemoryMappedFiles;
using Histoscale.Inference;

namespace Histoscale.Server.Kserve.SharedMemory;

/// <summary>What the status endpoints report for one registered region.</summary>
internal readonly record struct SharedMemoryRegionStatus(string Name, string Key, long Offset, long ByteSize);

/// <summary>
/// Triton's system shared memory extension: named regions over POSIX shared-memory objects
/// (<c>/dev/shm/KEY</c>, what <c>shm_open(KEY)</c> creates), mapped once at registration. Inference inputs are read
/// from a region and outputs written into one instead of travelling in the request and response. A region stays
/// mapped while requests use it, even when unregistered meanwhile; <see cref="Dispose"/> unregisters every region
/// (server shutdown). Errors are request errors (HTTP 400 / gRPC INVALID_ARGUMENT) that name the region.
/// </summary>
internal sealed class SystemSharedMemory(string root = SystemSharedMemory.DefaultRoot) : IDisposable
{
    /// <summary>Where Linux keeps POSIX shared-memory objects.</summary>
    public const string DefaultRoot = "/dev/shm";

    private readonly Dictionary<string, Region> _regions = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Maps <paramref name="byteSize"/> bytes at <paramref name="offset"/> of the object <paramref name="key"/> as region <paramref name="name"/>.</summary>
    public void Register(string name, string key, long offset, long byteSize)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new InferenceRequestException("failed to register shared memory region: the region needs a name");
        }
        var path = PathOf(name, key);
        if (offset < 0 || byteSize <= 0)
        {
            throw new InferenceRequestException(
                $"failed to register shared memory region '{name}': offset {offset} and byte_size {byteSize} must be non-negative and positive");
        }
        lock (_lock)
        {
            if (_regions.ContainsKey(name))
            {
                throw new InferenceRequestException($"shared memory region '{name}' already in manager");
            }
        }
        var region = Region.Open(name, key, path, offset, byteSize);
        lock (_lock)
        {
            if (_regions.TryAdd(name, region))
            {
                return;
            }
        }
        region.Release();
        throw new InferenceRequestException($"shared memory region '{name}' already in manager");
    }

    /// <summary>Unregisters <paramref name="name"/> (nothing when it is not registered, as Triton); requests using it finish first.</summary>
    public void Unregister(string name)
    {
        Region? region;
        lock (_lock)
        {
            if (!_regions.Remove(name, out region))
            {
                return;
            }
        }
        region.Release();
    }

    /// <summary>Unregisters every region.</summary>
    public void UnregisterAll()
    {
        Region[] regions;
        lock (_lock)
        {
            regions = [.. _regions.Values];
            _regions.Clear();
        }
        foreach (var r in regions)
        {
            r.Release();
        }
    }

    /// <summary>Every region, or only <paramref name="name"/> (an error when it is not registered).</summary>
    public IReadOnlyList<SharedMemoryRegionStatus> Status(string? name)
    {
        lock (_lock)
        {
            if (string.IsNullOrEmpty(name))
            {
                return [.. _regions.Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Status)];
            }
            return _regions.TryGetValue(name, out var region)
                ? [region.Status]
                : throw new InferenceRequestException($"Unable to find system shared memory region: '{name}'");
        }
    }

    /// <summary>Number of registered regions.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _regions.Count;
            }
        }
    }

    /// <summary>
    /// Bytes [offset, offset+byteSize) of region <paramref name="name"/> for tensor <paramref name="tensor"/>; the
    /// region stays mapped until the returned lease is disposed.
    /// </summary>
    public SharedMemoryLease Acquire(string name, long offset, long byteSize, string tensor)
    {
        Region? region;
        lock (_lock)
        {
            if (!_regions.TryGetValue(name, out region))
            {
                throw new InferenceRequestException($"Unable to find shared memory region: '{name}' (tensor '{tensor}')");
            }
            region.AddReference();
        }
        try
        {
            if (offset < 0 || byteSize < 0 || offset > region.ByteSize || byteSize > region.ByteSize - offset)
            {
                throw new InferenceRequestException(
                    $"Invalid offset + byte size for shared memory region: '{name}' (tensor '{tensor}': offset {offset} + byte_size {byteSize} > region size {region.ByteSize})");
            }
            return new SharedMemoryLease(region, region.Memory.Slice(checked((int)offset), checked((int)byteSize)));
        }
        catch
        {
            region.Release();
            throw;
        }
    }

    public void Dispose() => UnregisterAll();

    /// <summary>The object's file for <paramref name="key"/>: one name under the root (an optional leading '/', as shm_open takes it), nothing that leaves the root.</summary>
    private string PathOf(string name, string key)
    {
        var bare = key.StartsWith('/') ? key[1..] : key;
        if (bare.Length == 0 || bare.Length > 255 || bare is "." or ".." || bare.Contains('/') || bare.Contains('\0') || bare.Contains('\\'))
        {
            throw new InferenceRequestException(
                $"failed to register shared memory region '{name}': invalid key '{key}' (a shared-memory object name: one path component, optionally after a leading '/')");
        }
        return Path.Combine(root, bare);
    }

    /// <summary>A mapped region; references: the registration and each lease. The mapping goes with the last one.</summary>
    internal sealed unsafe class Region : MemoryManager<byte>
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _start;
        private int _references = 1;

        private Region(string name, string key, long offset, long byteSize, MemoryMappedFile file, MemoryMappedViewAccessor view, bool writable)
        {
            Name = name;
            Key = key;
            Offset = offset;
            ByteSize = byteSize;
            Writable = writable;
            _file = file;
            _view = view;
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _start = pointer + view.PointerOffset;
        }

        public string Name { get; }

        public string Key { get; }

        public long Offset { get; }

        public long ByteSize { get; }

        /// <summary>Whether outputs can be written (the object could be opened read-write).</summary>
        public bool Writable { get; }

        public SharedMemoryRegionStatus Status => new(Name, Key, Offset, ByteSize);

        public static Region Open(string name, string key, string path, long offset, long byteSize)
        {
            if (byteSize > int.MaxValue)
            {
                throw new InferenceRequestException($"failed to register shared memory region '{name}': byte_size {byteSize} is over {int.MaxValue}");
            }
            var info = new FileInfo(path);
            if (info.Exists && (info.LinkTarget is not null || (info.Attributes & (FileAttributes.Directory | FileAttributes.Device)) != 0))
            {
                // A link could lead the server to map (and write outputs into) a file outside /dev/shm.
                throw new InferenceRequestException($"Unable to open shared memory region: '{name}' (key '{key}'): not a regular shared-memory object");
            }
            FileStream stream;
            var writable = true;
            try
            {
                try
                {
                    stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                }
                catch (UnauthorizedAccessException)
                {
                    // A read-only object serves inputs only.
                    stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    writable = false;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InferenceRequestException($"Unable to open shared memory region: '{name}' (key '{key}'): {ex.Message}");
            }
            try
            {
                var length = stream.Length;
                if (offset > length || byteSize > length - offset)
                {
                    throw new InferenceRequestException(
                        $"failed to register shared memory region '{name}': offset {offset} + byte_size {byteSize} is past the end of '{key}' ({length} bytes)");
                }
                var access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
                var file = MemoryMappedFile.CreateFromFile(stream, null, 0, access, HandleInheritability.None, leaveOpen: false);
                try
                {
                    var view = file.CreateViewAccessor(offset, byteSize, access);
                    return new Region(name, key, offset, byteSize, file, view, writable);
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        public void AddReference() => Interlocked.Increment(ref _references);

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
                _file.Dispose();
            }
        }

        public override Span<byte> GetSpan() => new(_start, (int)ByteSize);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_start + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}

/// <summary>A request's use of a slice of a region; keeps the region mapped until disposed.</summary>
internal sealed class SharedMemoryLease(SystemSharedMemory.Region region, Memory<byte> memory) : IDisposable
{
    private SystemSharedMemory.Region? _region = region;

    /// <summary>The slice.</summary>
    public Memory<byte> Memory { get; } = memory;

    /// <summary>Whether the region can be written.</summary>
    public bool Writable { get; } = region.Writable;

    public void Dispose() => Interlocked.Exchange(ref _region, null)?.Release();
}
