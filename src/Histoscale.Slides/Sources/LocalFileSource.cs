using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Histoscale.Slides.Sources;

/// <summary>A local file read with positional I/O (pread): no shared file position, so any thread may read.</summary>
public sealed class LocalFileSource : IByteSource
{
    private readonly SafeFileHandle _handle;
    private SourceIdentity? _identity;

    /// <summary>Opens <paramref name="path"/> for random-access reading.</summary>
    /// <exception cref="SlideException">The file does not exist, is a directory, is not readable, or cannot be opened.</exception>
    public LocalFileSource(string path)
    {
        Name = path;
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (FileNotFoundException)
        {
            throw new SlideException(path, "file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new SlideException(path, "file not found");
        }
        catch (UnauthorizedAccessException)
        {
            throw new SlideException(path, "permission denied (or it is a directory)");
        }
        catch (IOException ex)
        {
            throw new SlideException(path, $"cannot open: {ex.Message}");
        }
        Length = RandomAccess.GetLength(_handle);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <summary>Size, modification time and SHA-256 of the first and last MiB, computed on first use from the open file.</summary>
    public SourceIdentity Identity => _identity ??= ComputeIdentity();

    /// <inheritdoc />
    public int Read(long offset, Span<byte> buffer)
    {
        if (offset >= Length || buffer.IsEmpty)
        {
            return 0;
        }
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(_handle, buffer[total..], offset + total);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <inheritdoc />
    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (offset >= Length || buffer.IsEmpty)
        {
            return 0;
        }
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await RandomAccess.ReadAsync(_handle, buffer[total..], offset + total, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>Closes the file handle.</summary>
    public void Dispose() => _handle.Dispose();

    private SourceIdentity ComputeIdentity()
    {
        // Size and time alone miss a file replaced by another of the same size with its time restored (copies that
        // keep times, restores from backup); hashing the ends catches that, at the cost of 2 MiB of reading.
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[SourceIdentity.HashedEndBytes];
        var head = (int)Math.Min(Length, buffer.Length);
        sha.AppendData(buffer, 0, Read(0, buffer.AsSpan(0, head)));
        var tailStart = Math.Max(head, Length - buffer.Length);
        sha.AppendData(buffer, 0, Read(tailStart, buffer.AsSpan(0, (int)(Length - tailStart))));
        return new SourceIdentity
        {
            Length = Length,
            Modified = new DateTimeOffset(File.GetLastWriteTimeUtc(_handle), TimeSpan.Zero),
            EndsSha256 = Convert.ToHexStringLower(sha.GetHashAndReset()),
        };
    }
}
