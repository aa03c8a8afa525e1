using System.Buffers;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// One image of a <see cref="TiffWriter"/> (a page in the main IFD chain or a SubIFD). Tiles or strips are
/// written as they are produced, in any order; each lands at the end of the file and its offset and byte count
/// are remembered for the IFD the writer emits when it finishes. Never-written tiles stay 0/0 (sparse).
/// Writes may come from several threads; bytes land in the order the calls take the file lock.
/// </summary>
public sealed class TiffPageWriter
{
    private readonly TiffWriter _owner;
    private readonly TiffChunkEncoder _encoder;
    private readonly List<TiffPageWriter> _subIfds = [];

    internal TiffPageWriter(TiffWriter owner, TiffPageOptions options)
    {
        options.Validate();
        _owner = owner;
        Options = options;
        _encoder = new TiffChunkEncoder(options);
        if (options.IsTiled)
        {
            TilesAcross = (int)DivUp(options.Width, options.TileWidth);
            TilesDown = (int)DivUp(options.Height, options.EffectiveTileHeight);
            var count = (long)TilesAcross * TilesDown;
            if (count > int.MaxValue / 2)
            {
                throw new ArgumentException($"Invalid TIFF page options: {count} tiles is too many");
            }
            Offsets = new long[count];
        }
        else
        {
            Offsets = new long[DivUp(options.Height, options.EffectiveRowsPerStrip)];
        }
        ByteCounts = new long[Offsets.Length];
        JpegTables = options.Compression == TiffWriteCompression.Jpeg ? _encoder.JpegTables : options.JpegTables;
    }

    /// <summary>The page's geometry, sample layout and compression.</summary>
    public TiffPageOptions Options { get; }

    /// <summary>Tile columns (0 for stripped images).</summary>
    public int TilesAcross { get; }

    /// <summary>Tile rows (0 for stripped images).</summary>
    public int TilesDown { get; }

    /// <summary>Strips of a stripped image.</summary>
    public int StripCount => Options.IsTiled ? 0 : Offsets.Length;

    /// <summary>Rows in each strip but possibly the last.</summary>
    public int RowsPerStrip => Options.EffectiveRowsPerStrip;

    /// <summary>Bytes of one uncompressed full tile (edge tiles included: TIFF tiles are always full size).</summary>
    public int TileBytes => Options.TileWidth * Options.EffectiveTileHeight * Options.BytesPerPixel;

    internal long[] Offsets { get; }
    internal long[] ByteCounts { get; }
    internal byte[]? JpegTables { get; }
    internal IReadOnlyList<TiffPageWriter> SubIfds => _subIfds;
    internal int CompressionCode => _encoder.TiffCompressionCode;

    /// <summary>
    /// Adds a SubIFD (tag 330) to this page, OME-TIFF style: reduced levels of a pyramid hang off level 0.
    /// </summary>
    public TiffPageWriter AddSubIfd(TiffPageOptions options)
    {
        var page = new TiffPageWriter(_owner, options);
        lock (_owner.Sync)
        {
            _owner.EnsureOpen();
            _subIfds.Add(page);
        }
        return page;
    }

    /// <summary>Compresses one full uncompressed tile (row-major, interleaved samples). Thread-safe, writes nothing.</summary>
    public EncodedChunk EncodeTile(ReadOnlySpan<byte> pixels)
    {
        RequireTiled(true);
        return _encoder.Encode(pixels, Options.TileWidth, Options.EffectiveTileHeight);
    }

    /// <summary>Compresses one uncompressed strip (rows × width pixels; the last strip may be shorter).</summary>
    public EncodedChunk EncodeStrip(int index, ReadOnlySpan<byte> pixels)
    {
        RequireTiled(false);
        return _encoder.Encode(pixels, Options.Width, StripRows(index));
    }

    /// <summary>Compresses and writes one full uncompressed tile.</summary>
    public void WriteTile(int col, int row, ReadOnlySpan<byte> pixels)
    {
        using var chunk = EncodeTile(pixels);
        WriteEncodedTile(col, row, chunk.Span);
    }

    /// <summary>Writes an already compressed tile (for JPEG: an abbreviated stream matching the page's JPEGTables).</summary>
    public void WriteEncodedTile(int col, int row, ReadOnlySpan<byte> data)
    {
        RequireTiled(true);
        if ((uint)col >= (uint)TilesAcross || (uint)row >= (uint)TilesDown)
        {
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) outside {TilesAcross}x{TilesDown}");
        }
        Store((row * TilesAcross) + col, data);
    }

    /// <summary>Compresses and writes one uncompressed strip.</summary>
    public void WriteStrip(int index, ReadOnlySpan<byte> pixels)
    {
        using var chunk = EncodeStrip(index, pixels);
        WriteEncodedStrip(index, chunk.Span);
    }

    /// <summary>Writes one strip that is already compressed as <see cref="TiffPageOptions.Compression"/> says.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a strip of this page.</exception>
    public void WriteEncodedStrip(int index, ReadOnlySpan<byte> data)
    {
        RequireTiled(false);
        if ((uint)index >= (uint)Offsets.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"strip {index} outside 0..{Offsets.Length - 1}");
        }
        Store(index, data);
    }

    /// <summary>
    /// Writes a whole row of tiles from a band of image rows (<paramref name="band"/> holds the tile row's rows,
    /// <paramref name="stride"/> bytes apart, at least the image width). Tiles are cut out with the image edge
    /// replicated into the padding, compressed in parallel, and written left to right, so the file is the same
    /// whatever the thread count.
    /// </summary>
    public void WriteTileRow(int row, ReadOnlyMemory<byte> band, int stride)
    {
        RequireTiled(true);
        var tileW = Options.TileWidth;
        var tileH = Options.EffectiveTileHeight;
        var rows = Math.Min(tileH, Options.Height - (row * tileH));
        if ((uint)row >= (uint)TilesDown || band.Length < ((rows - 1) * (long)stride) + ((long)Options.Width * Options.BytesPerPixel))
        {
            throw new ArgumentException($"tile row {row}: band too small or row outside 0..{TilesDown - 1}");
        }
        var chunks = new EncodedChunk[TilesAcross];
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _owner.Options.MaxDegreeOfParallelism };
            Parallel.For(0, TilesAcross, parallel, col =>
            {
                var tile = ArrayPool<byte>.Shared.Rent(TileBytes);
                try
                {
                    TileCutter.Cut(band.Span, stride, rows, Options.Width, col * tileW, tileW, tileH, Options.BytesPerPixel, tile);
                    chunks[col] = EncodeTile(tile.AsSpan(0, TileBytes));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(tile);
                }
            });
            for (var col = 0; col < TilesAcross; col++)
            {
                WriteEncodedTile(col, row, chunks[col].Span);
            }
        }
        finally
        {
            foreach (var c in chunks)
            {
                c.Dispose();
            }
        }
    }

    private void Store(int index, ReadOnlySpan<byte> data)
    {
        var offset = _owner.Append(data);
        Offsets[index] = data.IsEmpty ? 0 : offset;
        ByteCounts[index] = data.Length;
    }

    private int StripRows(int index) => Math.Min(RowsPerStrip, Options.Height - (index * RowsPerStrip));

    private void RequireTiled(bool tiled)
    {
        if (Options.IsTiled != tiled)
        {
            throw new InvalidOperationException(tiled ? "page is stripped; write strips" : "page is tiled; write tiles");
        }
    }

    private static long DivUp(long a, long b) => (a + b - 1) / b;
}

/// <summary>Copies one tile out of a band of rows, replicating the last column and row into the padding.</summary>
internal static class TileCutter
{
    public static void Cut(ReadOnlySpan<byte> band, int stride, int bandRows, int imageWidth, int x0, int tileW, int tileH, int bpp, Span<byte> tile)
    {
        var cols = Math.Min(tileW, imageWidth - x0);
        var rowBytes = tileW * bpp;
        var used = cols * bpp;
        for (var y = 0; y < tileH; y++)
        {
            var src = band.Slice((Math.Min(y, bandRows - 1) * stride) + (x0 * bpp), used);
            var dst = tile.Slice(y * rowBytes, rowBytes);
            src.CopyTo(dst);
            if (cols < tileW)
            {
                var last = src[^bpp..];
                for (var x = used; x < rowBytes; x += bpp)
                {
                    last.CopyTo(dst[x..]);
                }
            }
        }
    }
}
