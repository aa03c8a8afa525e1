using System.Buffers;
using Histoscale.Slides.Codecs;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// One level (or associated image) of a DICOM WSI series: a total pixel matrix tiled by frames of
/// Columns × Rows, the frames coming from one or more instances (concatenations, or sparse tiles). A tile no frame
/// covers (TILED_SPARSE) is blank: transparent, as OpenSlide renders it.
/// </summary>
internal sealed class DicomTiledImage : ITiledImage, IPrefetchingImage
{
    private const long MaxStoredFrameBytes = 256L * 1024 * 1024;

    private readonly DicomInstance[] _instances;
    private readonly int[] _tileInstance;
    private readonly int[] _tileFrame;
    private readonly int? _level;
    private readonly string _label;

    private DicomTiledImage(DicomInstance[] instances, int[] tileInstance, int[] tileFrame, long width, long height, int tileWidth, int tileHeight, int? level, string label)
    {
        _instances = instances;
        _tileInstance = tileInstance;
        _tileFrame = tileFrame;
        Width = width;
        Height = height;
        TileWidth = tileWidth;
        TileHeight = tileHeight;
        TilesAcross = (width + tileWidth - 1) / tileWidth;
        TilesDown = (height + tileHeight - 1) / tileHeight;
        _level = level;
        _label = label;
    }

    public long Width { get; }

    public long Height { get; }

    public int TileWidth { get; }

    public int TileHeight { get; }

    public long TilesAcross { get; }

    public long TilesDown { get; }

    /// <summary>Places every frame of <paramref name="instances"/> (one matrix size) on the tile grid, checking that TILED_FULL instances cover it.</summary>
    public static DicomTiledImage Build(IReadOnlyList<DicomInstance> instances, int? level, string label)
    {
        var first = instances[0];
        var file = first.Name;
        var where = level is null ? $"{label}: " : "";
        SlideException Bad(string cause, string? at = null) => new(at ?? file, where + cause, level);
        foreach (var i in instances)
        {
            if (i.Columns != first.Columns || i.Rows != first.Rows)
            {
                throw Bad($"instances of one matrix have different frame sizes ({first.Columns}x{first.Rows} in {Path.GetFileName(first.Name)}, {i.Columns}x{i.Rows})", i.Name);
            }
        }
        long width = first.TotalColumns, height = first.TotalRows;
        var across = (width + first.Columns - 1) / first.Columns;
        var down = (height + first.Rows - 1) / first.Rows;
        if (across * down > 64L * 1024 * 1024)
        {
            throw Bad($"absurd tile grid {across}x{down}");
        }
        var tiles = (int)(across * down);
        var tileInstance = new int[tiles];
        var tileFrame = new int[tiles];
        Array.Fill(tileInstance, -1);
        var ordered = instances.OrderBy(i => i.ConcatenationOffset).ThenBy(i => i.InstanceNumber).ThenBy(i => i.Name, StringComparer.Ordinal).ToArray();
        var full = false;
        long fullFrames = 0;
        for (var n = 0; n < ordered.Length; n++)
        {
            var instance = ordered[n];
            var positions = SparsePositions(instance);
            if (positions is null)
            {
                // TILED_FULL: frames fill the grid row by row (first focal plane and optical path first); a
                // concatenation's part starts at its Concatenation Frame Offset Number.
                full = true;
                for (var f = 0; f < instance.FrameCount; f++)
                {
                    var index = instance.ConcatenationOffset + f;
                    if (index < 0 || index >= tiles)
                    {
                        continue; // further focal planes / optical paths: not read
                    }
                    if (tileInstance[index] < 0)
                    {
                        (tileInstance[index], tileFrame[index]) = (n, f);
                        fullFrames++;
                    }
                }
                continue;
            }
            for (var f = 0; f < positions.Length; f++)
            {
                var (x, y) = positions[f];
                if (x < 1 || y < 1 || (x - 1) % instance.Columns != 0 || (y - 1) % instance.Rows != 0 || x > width || y > height)
                {
                    throw Bad($"frame {f + 1} at column {x}, row {y} of the total pixel matrix is not on its {instance.Columns}x{instance.Rows} tile grid", instance.Name);
                }
                var index = (((y - 1) / instance.Rows) * across) + ((x - 1) / instance.Columns);
                if (tileInstance[index] < 0)
                {
                    (tileInstance[index], tileFrame[index]) = (n, f);
                }
            }
        }
        if (full && fullFrames < tiles)
        {
            throw Bad($"TILED_FULL {width}x{height} matrix in {first.Columns}x{first.Rows} tiles needs {tiles} frames, its {ordered.Length} instance(s) hold {fullFrames} (an instance of this level is missing, or Number of Frames is short)");
        }
        return new DicomTiledImage(ordered, tileInstance, tileFrame, width, height, first.Columns, first.Rows, level, label);
    }

    /// <summary>Per-frame (column, row) positions (1-based) for TILED_SPARSE instances; null for TILED_FULL.</summary>
    private static (long X, long Y)[]? SparsePositions(DicomInstance instance)
    {
        var ds = instance.File.Dataset;
        var perFrame = ds.Get(DicomTags.PerFrameFunctionalGroupsSequence)?.Items;
        var sparse = instance.Organization == "TILED_SPARSE" || (instance.Organization != "TILED_FULL" && perFrame is { Count: > 0 } && perFrame[0].Get(DicomTags.PlanePositionSlideSequence) is not null);
        if (!sparse)
        {
            return null;
        }
        if (perFrame is null || perFrame.Count != instance.FrameCount)
        {
            throw new SlideException(instance.Name, $"TILED_SPARSE instance has {perFrame?.Count ?? 0} Per-Frame Functional Groups items for {instance.FrameCount} frames");
        }
        var positions = new (long, long)[perFrame.Count];
        for (var f = 0; f < perFrame.Count; f++)
        {
            var plane = perFrame[f].FirstItem(DicomTags.PlanePositionSlideSequence);
            var x = plane?.GetInteger(DicomTags.ColumnPositionInTotalImagePixelMatrix);
            var y = plane?.GetInteger(DicomTags.RowPositionInTotalImagePixelMatrix);
            if (x is null || y is null)
            {
                throw new SlideException(instance.Name, $"TILED_SPARSE frame {f + 1} has no Plane Position (Slide) column/row position");
            }
            positions[f] = (x.Value, y.Value);
        }
        return positions;
    }

    /// <summary>Over DICOMweb: every instance's frames come by WADO-RS, so hints fetch them ahead.</summary>
    public bool CanPrefetch => _instances.Length > 0 && _instances.All(i => i.Remote is not null);

    /// <summary>Hands the frames of <paramref name="tiles"/> (blank ones skipped) to the series' frame fetcher, instance by instance.</summary>
    public void Prefetch(IEnumerable<(long Col, long Row)> tiles)
    {
        if (!CanPrefetch)
        {
            return;
        }
        var byInstance = new Dictionary<int, List<int>>();
        foreach (var (col, row) in tiles)
        {
            if ((ulong)col >= (ulong)TilesAcross || (ulong)row >= (ulong)TilesDown)
            {
                continue; // hints are advisory: one off the grid is ignored
            }
            var i = Index(col, row);
            if (_tileInstance[i] < 0)
            {
                continue;
            }
            if (!byInstance.TryGetValue(_tileInstance[i], out var frames))
            {
                byInstance[_tileInstance[i]] = frames = [];
            }
            frames.Add(_tileFrame[i]);
        }
        foreach (var (instance, frames) in byInstance)
        {
            _instances[instance].Remote!.Prefetch(_instances[instance], frames);
        }
    }

    public long StoredTileBytes(long col, long row)
    {
        var i = Index(col, row);
        if (_tileInstance[i] < 0)
        {
            return 0;
        }
        // Over DICOMweb the size is known only once the frame is here: it is fetched to tell (a request per tile).
        return _instances[_tileInstance[i]].FrameBytes(_tileFrame[i]);
    }

    public TileStatus DecodeTile(long col, long row, Span<byte> rgba)
    {
        var i = Index(col, row);
        if (_tileInstance[i] < 0)
        {
            return TileStatus.Blank;
        }
        var instance = _instances[_tileInstance[i]];
        var buffer = Read(instance, _tileFrame[i], col, row, out var count, out var pooled);
        try
        {
            instance.Codec.Decode(buffer.AsSpan(0, count), TileWidth, TileHeight, instance.Context, rgba, TileWidth * 4);
            return TileStatus.Decoded;
        }
        catch (Exception ex) when (Translate(instance, col, row, ex) is { } failure)
        {
            throw failure;
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public bool CanDecodePlanar => _instances.All(i => i.Codec.SupportsPlanar);

    public bool TryDecodeTilePlanar(long col, long row, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        var i = Index(col, row);
        if (!CanDecodePlanar || _tileInstance[i] < 0)
        {
            return false;
        }
        var instance = _instances[_tileInstance[i]];
        var buffer = Read(instance, _tileFrame[i], col, row, out var count, out var pooled);
        try
        {
            return instance.Codec.TryDecodePlanar(buffer.AsSpan(0, count), TileWidth, TileHeight, instance.Context, red, green, blue);
        }
        catch (Exception ex) when (Translate(instance, col, row, ex) is { } failure)
        {
            throw failure;
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private byte[] Read(DicomInstance instance, int frame, long col, long row, out int count, out bool pooled)
    {
        if (instance.Remote is { } remote)
        {
            pooled = false;
            try
            {
                var data = remote.Read(instance, frame);
                count = data.Length;
                return data;
            }
            catch (SlideException ex)
            {
                // Name the level and tile too: the request's URL and cause are in the inner message.
                throw _level is null
                    ? new SlideException(ex.File, $"{_label} block ({col},{row}): frame {frame + 1} of instance {instance.SopInstanceUid}: {ex.Cause}", inner: ex) { IsCorruptData = ex.IsCorruptData }
                    : new SlideException(ex.File, $"frame {frame + 1} of instance {instance.SopInstanceUid}: {ex.Cause}", _level, (col, row), ex) { IsCorruptData = ex.IsCorruptData };
            }
        }
        pooled = true;
        var stored = instance.FrameBytes(frame);
        if (stored <= 0 || stored > MaxStoredFrameBytes)
        {
            throw Fail(instance, col, row, $"frame {frame + 1} stored size {stored} bytes is invalid", corrupt: true);
        }
        count = (int)stored;
        var buffer = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            instance.ReadFrame(frame, buffer.AsSpan(0, count));
            return buffer;
        }
        catch (Exception ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (Translate(instance, col, row, ex) is { } failure)
            {
                throw failure;
            }
            throw;
        }
    }

    private SlideException? Translate(DicomInstance instance, long col, long row, Exception ex) => ex switch
    {
        SlideException => null,
        CodecException => Fail(instance, col, row, ex.Message, ex, corrupt: true),
        InvalidDataException or InvalidOperationException or ArgumentException or IndexOutOfRangeException => Fail(instance, col, row, $"{ex.GetType().Name}: {ex.Message}", ex, corrupt: true),
        IOException => Fail(instance, col, row, $"{ex.GetType().Name}: {ex.Message}", ex),
        _ => null,
    };

    private SlideException Fail(DicomInstance instance, long col, long row, string cause, Exception? inner = null, bool corrupt = false) =>
        _level is null
            ? new SlideException(instance.Name, $"{_label} block ({col},{row}): {cause}", inner: inner) { IsCorruptData = corrupt }
            : new SlideException(instance.Name, cause, _level, (col, row), inner) { IsCorruptData = corrupt };

    private long Index(long col, long row)
    {
        if ((ulong)col >= (ulong)TilesAcross || (ulong)row >= (ulong)TilesDown)
        {
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) outside {TilesAcross}x{TilesDown} grid");
        }
        return (row * TilesAcross) + col;
    }
}
