using System.Buffers;
using Histoscale.Slides.Codecs;

namespace Histoscale.Slides.Tiff;

/// <summary>A tiled or stripped raster in one TIFF directory, validated against the file before use.</summary>
internal sealed class TiffImage : ITiledImage
{
    /// <summary>No real tile or strip is larger; a bigger claim is a broken header, not a reason to allocate.</summary>
    public const long MaxBlockPixels = 64L * 1024 * 1024;

    private const long MaxStoredBlockBytes = 256L * 1024 * 1024;

    private readonly long[] _offsets;
    private readonly long[] _counts;
    private readonly CodecContext _context;
    private readonly ITileCodec? _codec;
    private readonly int? _level;
    private readonly string _label;

    private TiffImage(TiffDirectory dir, int? level, string label, long width, long height, int tileWidth, int tileHeight,
        long across, long down, long[] offsets, long[] counts, CodecContext context)
    {
        Directory = dir;
        _level = level;
        _label = label;
        Width = width;
        Height = height;
        TileWidth = tileWidth;
        TileHeight = tileHeight;
        TilesAcross = across;
        TilesDown = down;
        _offsets = offsets;
        _counts = counts;
        _context = context;
        _codec = CodecRegistry.For(context.Compression, context.JpegSimd);
    }

    public TiffDirectory Directory { get; }

    public long Width { get; }

    public long Height { get; }

    public int TileWidth { get; }

    public int TileHeight { get; }

    public long TilesAcross { get; }

    public long TilesDown { get; }

    public int Compression => _context.Compression;

    public bool IsStripped => !Directory.IsTiled;

    /// <summary>Reads and validates the directory's raster description. <paramref name="label"/> names it in errors (e.g. "label").</summary>
    public static TiffImage Open(TiffDirectory dir, int? level, string? label = null, Codecs.Jpeg.JpegSimd jpegSimd = Codecs.Jpeg.JpegSimd.Auto)
    {
        var file = dir.File.Name;
        label ??= level is null ? $"IFD {dir.Index}" : $"level {level}";
        SlideException Bad(string cause) => new(file, label == $"level {level}" ? cause : $"{label}: {cause}", level);

        var width = dir.Width;
        var height = dir.Height;
        if (width <= 0 || height <= 0)
        {
            throw Bad($"invalid image size {width}x{height}");
        }
        int tileWidth, tileHeight;
        long[] offsets, counts;
        ushort offsetsTag, countsTag;
        if (dir.IsTiled)
        {
            var tw = dir.GetLong(TiffTag.TileWidth) ?? 0;
            var th = dir.GetLong(TiffTag.TileLength) ?? 0;
            if (tw <= 0 || th <= 0 || tw * th > MaxBlockPixels)
            {
                throw Bad($"invalid tile size {tw}x{th}");
            }
            (tileWidth, tileHeight) = ((int)tw, (int)th);
            (offsetsTag, countsTag) = (TiffTag.TileOffsets, TiffTag.TileByteCounts);
        }
        else
        {
            if (!dir.Has(TiffTag.StripOffsets))
            {
                throw Bad("neither tiles nor strips (TileOffsets/StripOffsets missing)");
            }
            var rps = Math.Min(dir.GetLong(TiffTag.RowsPerStrip) ?? height, height);
            if (rps <= 0 || width * rps > MaxBlockPixels)
            {
                throw Bad($"strip of {width}x{rps} pixels is too large or invalid");
            }
            (tileWidth, tileHeight) = ((int)width, (int)rps);
            (offsetsTag, countsTag) = (TiffTag.StripOffsets, TiffTag.StripByteCounts);
        }
        var across = (width + tileWidth - 1) / tileWidth;
        var down = (height + tileHeight - 1) / tileHeight;
        long expected;
        try
        {
            expected = checked(across * down);
        }
        catch (OverflowException)
        {
            throw Bad($"absurd image size {width}x{height}");
        }
        var stated = dir.Entries.TryGetValue(offsetsTag, out var oe) ? oe.Count : 0;
        var statedCounts = dir.Entries.TryGetValue(countsTag, out var ce) ? ce.Count : 0;
        if (stated != expected || statedCounts != expected)
        {
            throw Bad($"{width}x{height} image in {tileWidth}x{tileHeight} blocks needs {expected} offsets and byte counts, found {stated} and {statedCounts}");
        }
        // Only now, with the count matched against the geometry and each value checked to lie in the file, do we allocate.
        offsets = dir.GetLongs(offsetsTag);
        counts = dir.GetLongs(countsTag);

        var spp = (int)(dir.GetLong(TiffTag.SamplesPerPixel) ?? 1);
        var bits = dir.GetLongs(TiffTag.BitsPerSample, 8);
        var compression = (int)(dir.GetLong(TiffTag.Compression) ?? TiffCompression.None);
        var photometric = (int)(dir.GetLong(TiffTag.Photometric) ?? (spp >= 3 ? TiffPhotometric.Rgb : TiffPhotometric.MinIsBlack));
        var planar = dir.GetLong(TiffTag.PlanarConfig) ?? 1;
        var predictor = (int)(dir.GetLong(TiffTag.Predictor) ?? 1);
        var extra = dir.GetLongs(TiffTag.ExtraSamples, 4);
        if (spp is < 1 or > 4)
        {
            throw Bad($"unsupported samples per pixel {spp}");
        }
        if (bits.Length > 0 && bits.Any(b => b != 8))
        {
            throw Bad($"unsupported bits per sample {bits[0]} (only 8-bit images are supported)");
        }
        if (planar != 1 && spp > 1)
        {
            throw Bad("unsupported planar (separate) sample layout");
        }
        if (photometric == TiffPhotometric.YCbCr && compression != TiffCompression.Jpeg && CodecRegistry.For(compression) is not null)
        {
            throw Bad($"YCbCr photometric is only supported inside JPEG tiles (compression {compression})");
        }
        var tables = compression == TiffCompression.Jpeg ? dir.GetBytes(TiffTag.JpegTables) : null;
        var hasAlpha = extra.Length > 0 && extra[0] is 1 or 2;
        var context = new CodecContext(file, compression, photometric, spp, 8, predictor, hasAlpha, tables, jpegSimd);
        return new TiffImage(dir, level, label, width, height, tileWidth, tileHeight, across, down, offsets, counts, context);
    }

    public long StoredTileBytes(long col, long row) => _counts[Index(col, row)];

    public Sources.ByteRange? StoredTileRange(long col, long row)
    {
        var i = Index(col, row);
        var count = _counts[i];
        // Blank or implausible entries are not hints worth fetching; DecodeTile reports the broken ones.
        return count is <= 0 or > MaxStoredBlockBytes || _offsets[i] < 0 ? null : new Sources.ByteRange(_offsets[i], (int)count);
    }

    public byte[]? ReadStoredJpeg(long col, long row)
    {
        if (_context.Compression != TiffCompression.Jpeg || _context.HasAlpha || _context.SamplesPerPixel != 3 || IsStripped)
        {
            return null;
        }
        var buffer = ReadStored(col, row, out var count);
        if (buffer is null)
        {
            return null;
        }
        try
        {
            var data = buffer.AsSpan(0, count);
            // A passed-through tile is never decoded here, so check what can be checked cheaply: the stream's start and
            // end markers (a truncated tile loses its end marker).
            var end = data.TrimEnd((byte)0);
            if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8 || end.Length < 2 || end[^2] != 0xFF || end[^1] != 0xD9)
            {
                throw Fail(col, row, "corrupt JPEG data: the stored tile is not a complete JPEG stream (start or end marker missing)", corrupt: true);
            }
            var output = ArrayPool<byte>.Shared.Rent(count + (_context.JpegTables?.Length ?? 0) + 32);
            try
            {
                var length = JpegCodec.BuildStream(data, _context.JpegTables, _context.Photometric, output);
                return output.AsSpan(0, length).ToArray();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(output);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Rows of block (col,row) that hold image data (all but the last strip: TileHeight).</summary>
    public int BlockRows(long row) => IsStripped ? (int)Math.Min(TileHeight, Height - (row * TileHeight)) : TileHeight;

    public TileStatus DecodeTile(long col, long row, Span<byte> rgba)
    {
        var buffer = ReadStored(col, row, out var count);
        if (buffer is null)
        {
            return TileStatus.Blank;
        }
        try
        {
            _codec!.Decode(buffer.AsSpan(0, count), TileWidth, BlockRows(row), _context, rgba, TileWidth * 4);
            return TileStatus.Decoded;
        }
        catch (Exception ex) when (Translate(col, row, ex) is { } failure)
        {
            throw failure;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public bool CanDecodePlanar => !_context.HasAlpha && _codec is { SupportsPlanar: true };

    public bool TryDecodeTilePlanar(long col, long row, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        // Decline before reading: a codec that cannot write planes would only cost a second fetch of the block.
        if (!CanDecodePlanar || BlockRows(row) != TileHeight || _counts[Index(col, row)] == 0)
        {
            return false;
        }
        var buffer = ReadStored(col, row, out var count)!;
        try
        {
            return _codec!.TryDecodePlanar(buffer.AsSpan(0, count), TileWidth, TileHeight, _context, red, green, blue);
        }
        catch (Exception ex) when (Translate(col, row, ex) is { } failure)
        {
            throw failure;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The stored bytes of block (col,row) in a rented buffer, checked against the file; null when the block is blank.</summary>
    private byte[]? ReadStored(long col, long row, out int count)
    {
        var index = Index(col, row);
        var stored = _counts[index];
        count = 0;
        if (stored == 0)
        {
            return null;
        }
        var offset = _offsets[index];
        var file = Directory.File;
        if (stored < 0 || stored > MaxStoredBlockBytes)
        {
            throw Fail(col, row, $"stored size {stored} bytes is invalid", corrupt: true);
        }
        if (offset < 0 || offset > file.Source.Length - stored)
        {
            throw Fail(col, row, $"data at offset {offset} (+{stored} bytes) lies past the end of the file ({file.Source.Length} bytes)", corrupt: true);
        }
        if (_codec is null)
        {
            throw Fail(col, row, $"unsupported compression {_context.Compression}");
        }
        count = (int)stored;
        var buffer = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var n = file.Source.Read(offset, buffer.AsSpan(0, count));
            if (n != count)
            {
                throw Fail(col, row, $"short read at offset {offset}: expected {count} bytes, got {n}", corrupt: true);
            }
            return buffer;
        }
        catch (Exception ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (Translate(col, row, ex) is { } failure)
            {
                throw failure;
            }
            throw;
        }
    }

    /// <summary>A decode or read failure as the SlideException naming this tile; null for what should propagate unchanged.</summary>
    private SlideException? Translate(long col, long row, Exception ex) => ex switch
    {
        SlideException => null,
        CodecException => Fail(col, row, ex.Message, ex, corrupt: true),
        // Decoders signal malformed data with these; any other IOException is a failure to read, not a verdict on the data.
        InvalidDataException or InvalidOperationException or ArgumentException or IndexOutOfRangeException => Fail(col, row, $"{ex.GetType().Name}: {ex.Message}", ex, corrupt: true),
        IOException => Fail(col, row, $"{ex.GetType().Name}: {ex.Message}", ex),
        _ => null,
    };

    private long Index(long col, long row)
    {
        if ((ulong)col >= (ulong)TilesAcross || (ulong)row >= (ulong)TilesDown)
        {
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) outside {TilesAcross}x{TilesDown} grid");
        }
        return (row * TilesAcross) + col;
    }

    private SlideException Fail(long col, long row, string cause, Exception? inner = null, bool corrupt = false) =>
        _level is null
            ? new SlideException(Directory.File.Name, $"{_label} block ({col},{row}): {cause}", inner: inner) { IsCorruptData = corrupt }
            : new SlideException(Directory.File.Name, cause, _level, (col, row), inner) { IsCorruptData = corrupt };
}
