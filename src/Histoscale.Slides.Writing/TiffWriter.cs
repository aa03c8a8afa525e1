using System.Buffers.Binary;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Streaming little-endian TIFF/BigTIFF writer. Image data is appended as it arrives; all IFDs are written by
/// <see cref="Finish"/> once every offset is known, so memory holds only offset tables (16 bytes per tile),
/// never pixels, and <see cref="TiffFormat.Auto"/> can pick classic or BigTIFF exactly. Pages form the main
/// IFD chain in the order they were added; <see cref="TiffPageWriter.AddSubIfd"/> hangs SubIFDs off a page.
/// Dispose without <see cref="Finish"/> leaves an invalid file (zero header) rather than a half-written one.
/// </summary>
public sealed class TiffWriter : IDisposable
{
    private const int HeaderSlot = 16; // BigTIFF header size; classic uses the first 8 bytes
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly List<TiffPageWriter> _pages = [];
    private long _position;
    private bool _finished;
    private bool _disposed;

    /// <summary>A writer over <paramref name="stream"/>, writing from position 0.</summary>
    /// <param name="stream">Seekable, writable destination.</param>
    /// <param name="options">File-level options; defaults when null.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves <paramref name="stream"/> open.</param>
    /// <exception cref="ArgumentException"><paramref name="stream"/> is not seekable and writable.</exception>
    public TiffWriter(Stream stream, TiffWriterOptions? options = null, bool leaveOpen = false)
    {
        if (!stream.CanSeek || !stream.CanWrite)
        {
            throw new ArgumentException("TIFF writer needs a seekable, writable stream", nameof(stream));
        }
        _stream = stream;
        _leaveOpen = leaveOpen;
        Options = options ?? new TiffWriterOptions();
        _stream.Position = 0;
        _stream.Write(new byte[HeaderSlot]);
        _position = HeaderSlot;
    }

    /// <summary>Creates (or overwrites) a file.</summary>
    public static TiffWriter Create(string path, TiffWriterOptions? options = null) =>
        new(new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 20), options);

    /// <summary>The file-level options.</summary>
    public TiffWriterOptions Options { get; }

    /// <summary>Whether the finished file is BigTIFF; known after <see cref="Finish"/>.</summary>
    public bool IsBigTiff { get; private set; }

    /// <summary>Bytes of the file so far (the final length after <see cref="Finish"/>).</summary>
    public long Length
    {
        get
        {
            lock (Sync)
            {
                return _position;
            }
        }
    }

    internal object Sync { get; } = new();

    /// <summary>Adds a page to the end of the main IFD chain.</summary>
    public TiffPageWriter AddPage(TiffPageOptions options)
    {
        var page = new TiffPageWriter(this, options);
        lock (Sync)
        {
            EnsureOpen();
            _pages.Add(page);
        }
        return page;
    }

    /// <summary>Appends bytes at an even offset and returns that offset.</summary>
    internal long Append(ReadOnlySpan<byte> data)
    {
        lock (Sync)
        {
            EnsureOpen();
            if ((_position & 1) != 0)
            {
                _stream.WriteByte(0); // TIFF wants word-aligned values; readers don't care for data but it is cheap
                _position++;
            }
            var offset = _position;
            if (Options.Format == TiffFormat.Classic && offset + data.Length > uint.MaxValue)
            {
                throw new IOException("Classic TIFF cannot hold more than 4 GiB; write BigTIFF (TiffFormat.BigTiff or Auto)");
            }
            _stream.Write(data);
            _position += data.Length;
            return offset;
        }
    }

    /// <summary>Writes every IFD after the image data, then the header pointing at the first. Idempotent.</summary>
    public void Finish()
    {
        lock (Sync)
        {
            if (_finished)
            {
                return;
            }
            EnsureOpen();
            if (_pages.Count == 0)
            {
                throw new InvalidOperationException("A TIFF needs at least one page");
            }
            if ((_position & 1) != 0)
            {
                _stream.WriteByte(0);
                _position++;
            }
            var order = new List<TiffPageWriter>();
            foreach (var p in _pages)
            {
                Flatten(p, order);
            }
            IsBigTiff = Options.Format switch
            {
                TiffFormat.BigTiff => true,
                TiffFormat.Classic => false,
                _ => _position > uint.MaxValue || _position + order.Sum(p => TiffIfdSerializer.Size(TiffIfdFields.Build(p, false, null), false)) > uint.MaxValue,
            };
            var sizes = order.Select(p => TiffIfdSerializer.Size(TiffIfdFields.Build(p, IsBigTiff, null), IsBigTiff)).ToArray();
            var offsets = new Dictionary<TiffPageWriter, long>();
            var at = _position;
            for (var i = 0; i < order.Count; i++)
            {
                offsets[order[i]] = at;
                at += sizes[i];
            }
            if (!IsBigTiff && at > uint.MaxValue)
            {
                throw new IOException("Classic TIFF cannot hold more than 4 GiB; write BigTIFF (TiffFormat.BigTiff or Auto)");
            }
            foreach (var page in order)
            {
                var next = 0L;
                var main = _pages.IndexOf(page);
                if (main >= 0 && main + 1 < _pages.Count)
                {
                    next = offsets[_pages[main + 1]];
                }
                var subs = page.SubIfds.Select(s => offsets[s]).ToArray();
                var fields = TiffIfdFields.Build(page, IsBigTiff, subs);
                _stream.Write(TiffIfdSerializer.Serialize(fields, offsets[page], next, IsBigTiff));
            }
            _position = at;
            WriteHeader(offsets[_pages[0]]);
            _stream.Flush();
            _finished = true;
        }
    }

    /// <summary>Closes the stream (unless left open); call <see cref="Finish"/> first or the file is invalid.</summary>
    public void Dispose()
    {
        lock (Sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }

    internal void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished)
        {
            throw new InvalidOperationException("TIFF writer already finished");
        }
    }

    private static void Flatten(TiffPageWriter page, List<TiffPageWriter> order)
    {
        order.Add(page);
        foreach (var s in page.SubIfds)
        {
            Flatten(s, order);
        }
    }

    private void WriteHeader(long firstIfd)
    {
        Span<byte> header = stackalloc byte[HeaderSlot];
        header.Clear();
        header[0] = (byte)'I';
        header[1] = (byte)'I';
        if (IsBigTiff)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], 43);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 8); // bytes per offset
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (ulong)firstIfd);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], 42);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)firstIfd);
        }
        _stream.Position = 0;
        _stream.Write(header);
        _stream.Position = _position;
    }
}
