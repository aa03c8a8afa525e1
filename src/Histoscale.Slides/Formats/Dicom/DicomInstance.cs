using System.Globalization;
using Histoscale.Slides.Codecs;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>One VL Whole Slide Microscopy instance: its geometry, how its frames decode, and where each frame lies.</summary>
internal sealed class DicomInstance
{
    public const string WsiSopClass = "1.2.840.10008.5.1.4.1.1.77.1.6";
    public const string JpegBaseline = "1.2.840.10008.1.2.4.50";
    public const string Jpeg2000Lossless = "1.2.840.10008.1.2.4.90";
    public const string Jpeg2000 = "1.2.840.10008.1.2.4.91";

    /// <summary>Frame f: its first fragment and fragment count (encapsulated), or its byte range (native).</summary>
    private readonly (long Offset, long Length, int FirstFragment, int FragmentCount)[] _frames;

    private DicomInstance(string name, IByteSource? source, DicomWebFrames? remote, DicomFile file)
    {
        Name = name;
        Source = source;
        Remote = remote;
        File = file;
        var ds = file.Dataset;
        SopInstanceUid = ds.GetString(DicomTags.SopInstanceUid) ?? "";
        SeriesUid = ds.GetString(DicomTags.SeriesInstanceUid) ?? "";
        ImageType = (ds.GetString(DicomTags.ImageType) ?? "").Split('\\').Select(s => s.Trim()).ToArray();
        Rows = (int)(ds.GetInteger(DicomTags.Rows) ?? 0);
        Columns = (int)(ds.GetInteger(DicomTags.Columns) ?? 0);
        TotalColumns = ds.GetInteger(DicomTags.TotalPixelMatrixColumns) ?? Columns;
        TotalRows = ds.GetInteger(DicomTags.TotalPixelMatrixRows) ?? Rows;
        FrameCount = (int)Math.Clamp(ds.GetInteger(DicomTags.NumberOfFrames) ?? 1, 0, int.MaxValue);
        InstanceNumber = ds.GetInteger(DicomTags.InstanceNumber) ?? 0;
        ConcatenationOffset = ds.GetInteger(DicomTags.ConcatenationFrameOffsetNumber) ?? 0;
        Organization = ds.GetString(DicomTags.DimensionOrganizationType) ?? "";
        _frames = [];
    }

    private DicomInstance(DicomInstance header, (long, long, int, int)[] frames, CodecContext context, ITileCodec codec) : this(header.Name, header.Source, header.Remote, header.File)
    {
        _frames = frames;
        Context = context;
        Codec = codec;
    }

    /// <summary>The Part 10 file's bytes; null for an instance read over DICOMweb.</summary>
    public IByteSource? Source { get; }

    /// <summary>Where a DICOMweb instance's frames come from; null for a file.</summary>
    public DicomWebFrames? Remote { get; }

    public DicomFile File { get; }

    /// <summary>The file's path, or the instance's DICOMweb URL.</summary>
    public string Name { get; }

    public string SopInstanceUid { get; }

    public string SeriesUid { get; }

    public string[] ImageType { get; }

    /// <summary>The third value of Image Type: VOLUME, LABEL, OVERVIEW, THUMBNAIL.</summary>
    public string Flavor => ImageType.Length > 2 ? ImageType[2].ToUpperInvariant() : "";

    public int Rows { get; }

    public int Columns { get; }

    public long TotalColumns { get; }

    public long TotalRows { get; }

    public int FrameCount { get; }

    public long InstanceNumber { get; }

    public long ConcatenationOffset { get; }

    public string Organization { get; }

    public CodecContext Context { get; } = null!;

    public ITileCodec Codec { get; } = null!;

    /// <summary>Opens the instance's header and frame table; throws <see cref="SlideException"/> naming the file for anything it cannot read.</summary>
    public static DicomInstance Open(IByteSource source, Codecs.Jpeg.JpegSimd simd) =>
        Complete(new DicomInstance(source.Name, source, null, DicomParser.Parse(source)), simd);

    /// <summary>As <see cref="Open(IByteSource, Codecs.Jpeg.JpegSimd)"/>, for a file already parsed from <paramref name="source"/>.</summary>
    public static DicomInstance Open(IByteSource source, DicomFile file, Codecs.Jpeg.JpegSimd simd) =>
        Complete(new DicomInstance(source.Name, source, null, file), simd);

    /// <summary>
    /// An instance read over DICOMweb: its data set from the series metadata (<paramref name="file"/>, no pixel data),
    /// its frames from <paramref name="remote"/>, in <see cref="DicomFile.TransferSyntax"/>.
    /// </summary>
    public static DicomInstance OpenRemote(DicomFile file, DicomWebFrames remote, Codecs.Jpeg.JpegSimd simd) =>
        Complete(new DicomInstance(file.Name, null, remote, file), simd);

    private static DicomInstance Complete(DicomInstance header, Codecs.Jpeg.JpegSimd simd)
    {
        var file = header.File;
        var name = header.Name;
        var remote = header.Remote is not null;
        var ds = file.Dataset;
        var sopClass = ds.GetString(DicomTags.SopClassUid) ?? file.Meta.GetString(0x0002_0002) ?? "";
        if (sopClass != WsiSopClass)
        {
            throw new SlideException(name, $"not a whole-slide image: SOP class {(sopClass.Length == 0 ? "(none)" : sopClass)}{(ds.GetString(DicomTags.Modality) is { Length: > 0 } m ? $", modality {m}" : "")}; only VL Whole Slide Microscopy Image Storage ({WsiSopClass}) is read");
        }
        SlideException Bad(string cause) => new(name, cause);
        if (header.Rows <= 0 || header.Columns <= 0 || (long)header.Rows * header.Columns > Tiff.TiffImage.MaxBlockPixels)
        {
            throw Bad($"invalid frame size {header.Columns}x{header.Rows} (Columns/Rows)");
        }
        if (header.TotalColumns <= 0 || header.TotalRows <= 0 || header.TotalColumns > (1L << 31) || header.TotalRows > (1L << 31))
        {
            throw Bad($"invalid total pixel matrix {header.TotalColumns}x{header.TotalRows}");
        }
        if (header.FrameCount <= 0)
        {
            throw Bad($"Number of Frames is {ds.GetString(DicomTags.NumberOfFrames)}");
        }
        var spp = (int)(ds.GetInteger(DicomTags.SamplesPerPixel) ?? 0);
        var bits = ds.GetInteger(DicomTags.BitsAllocated) ?? 0;
        var photometric = (ds.GetString(DicomTags.PhotometricInterpretation) ?? "").ToUpperInvariant();
        if (spp is not (1 or 3) || bits != 8)
        {
            throw Bad($"unsupported pixel format: {spp} samples of {bits} bits (8-bit grey or colour only)");
        }
        if (file.PixelData is null && !remote)
        {
            throw Bad("no Pixel Data (7FE0,0010): the file is truncated or holds no image");
        }
        var syntax = file.TransferSyntax;
        ITileCodec codec;
        int compression;
        int tiffPhotometric;
        switch (syntax)
        {
            case DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian:
                if (photometric is not ("RGB" or "MONOCHROME2"))
                {
                    throw Bad($"unsupported photometric interpretation {photometric} for uncompressed pixels (RGB or MONOCHROME2)");
                }
                if (spp == 3 && ds.GetInteger(DicomTags.PlanarConfiguration) is 1)
                {
                    throw Bad("unsupported planar configuration 1 (colour-by-plane) for uncompressed pixels");
                }
                (codec, compression, tiffPhotometric) = (LosslessCodec.Instance, Tiff.TiffCompression.None, spp == 3 ? Tiff.TiffPhotometric.Rgb : Tiff.TiffPhotometric.MinIsBlack);
                break;
            case JpegBaseline:
                // YBR_FULL(_422): the stream is YCbCr whatever its markers say. RGB: the encoder applied no colour
                // transform — but many writers label JFIF (YCbCr) streams RGB, so the stream's own markers decide
                // (JFIF/Adobe/component ids), as libjpeg does.
                (codec, compression) = (CodecRegistry.For(Tiff.TiffCompression.Jpeg, simd)!, Tiff.TiffCompression.Jpeg);
                tiffPhotometric = photometric.StartsWith("YBR_FULL", StringComparison.Ordinal) ? Tiff.TiffPhotometric.YCbCr : Tiff.TiffPhotometric.MinIsBlack;
                break;
            case Jpeg2000Lossless or Jpeg2000:
                // YBR_ICT/YBR_RCT/RGB: the codestream's multi-component transform gives RGB; YBR_FULL without one is converted (DicomJpeg2000).
                (codec, compression, tiffPhotometric) = (DicomJpeg2000.Instance,
                    photometric.StartsWith("YBR_FULL", StringComparison.Ordinal) ? Tiff.TiffCompression.Jpeg2000YCbCr : Tiff.TiffCompression.Jpeg2000Rgb,
                    spp == 3 ? Tiff.TiffPhotometric.Rgb : Tiff.TiffPhotometric.MinIsBlack);
                break;
            default:
                throw Bad($"unsupported DICOM transfer syntax {syntax}{(DescribeSyntax(syntax) is { } d ? $" ({d})" : "")}; supported: JPEG baseline, JPEG 2000, uncompressed little endian");
        }
        if (!remote && file.IsEncapsulated != (compression != Tiff.TiffCompression.None))
        {
            throw Bad($"transfer syntax {syntax} needs {(file.IsEncapsulated ? "native" : "encapsulated")} pixel data");
        }
        var frames = remote ? [] : file.IsEncapsulated ? EncapsulatedFrames(file, header.FrameCount) : NativeFrames(file, header, spp);
        var context = new CodecContext(name, compression, tiffPhotometric, spp, 8, 1, false, null, simd);
        return new DicomInstance(header, frames, context, codec);
    }

    private static (long, long, int, int)[] NativeFrames(DicomFile file, DicomInstance header, int spp)
    {
        var frameBytes = (long)header.Rows * header.Columns * spp;
        var have = file.PixelData!.Length / frameBytes;
        if (have < header.FrameCount)
        {
            throw new SlideException(file.Name, $"Pixel Data holds {file.PixelData.Length} bytes: {have} frames of {header.Columns}x{header.Rows}x{spp}, but Number of Frames is {header.FrameCount}") { IsCorruptData = true };
        }
        var frames = new (long, long, int, int)[header.FrameCount];
        for (var i = 0; i < frames.Length; i++)
        {
            frames[i] = (file.PixelData.Offset + (i * frameBytes), frameBytes, 0, 0);
        }
        return frames;
    }

    private static (long, long, int, int)[] EncapsulatedFrames(DicomFile file, int frameCount)
    {
        var fragments = file.Fragments;
        var frames = new (long, long, int, int)[frameCount];
        // Offsets from an offset table count from the first fragment's item tag; map each to the fragment starting there.
        IReadOnlyList<long>? starts = null;
        if (file.Dataset.Get(DicomTags.ExtendedOffsetTable)?.Value is { } eot)
        {
            if (eot.Length != frameCount * 8L)
            {
                throw new SlideException(file.Name, $"Extended Offset Table (7FE0,0001) has {eot.Length / 8} entries for {frameCount} frames") { IsCorruptData = true };
            }
            starts = [.. Enumerable.Range(0, frameCount).Select(i => (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(eot.AsSpan(i * 8)))];
        }
        else if (file.BasicOffsets.Count > 0 && fragments.Count != frameCount)
        {
            if (file.BasicOffsets.Count != frameCount)
            {
                throw new SlideException(file.Name, $"Basic Offset Table has {file.BasicOffsets.Count} entries for {frameCount} frames") { IsCorruptData = true };
            }
            starts = file.BasicOffsets;
        }
        if (starts is null)
        {
            if (fragments.Count == frameCount)
            {
                for (var i = 0; i < frameCount; i++)
                {
                    frames[i] = (0, fragments[i].Length, i, 1);
                }
                return frames;
            }
            if (frameCount == 1 && fragments.Count > 0)
            {
                frames[0] = (0, fragments.Sum(f => (long)f.Length), 0, fragments.Count);
                return frames;
            }
            throw new SlideException(file.Name, $"encapsulated Pixel Data holds {fragments.Count} fragments for {frameCount} frames and no offset table to map them") { IsCorruptData = true };
        }
        var byStart = new Dictionary<long, int>(fragments.Count);
        for (var i = 0; i < fragments.Count; i++)
        {
            byStart[fragments[i].Offset - 8 - file.FirstFragmentItem] = i;
        }
        for (var f = 0; f < frameCount; f++)
        {
            if (!byStart.TryGetValue(starts[f], out var first))
            {
                throw new SlideException(file.Name, $"offset table entry {f} ({starts[f]}) does not point at a fragment") { IsCorruptData = true };
            }
            var end = f + 1 < frameCount && byStart.TryGetValue(starts[f + 1], out var next) ? next : fragments.Count;
            if (end <= first)
            {
                throw new SlideException(file.Name, $"offset table entries {f} and {f + 1} are not increasing") { IsCorruptData = true };
            }
            long length = 0;
            for (var k = first; k < end; k++)
            {
                length += fragments[k].Length;
            }
            frames[f] = (0, length, first, end - first);
        }
        return frames;
    }

    public static string? DescribeSyntax(string uid) => uid switch
    {
        "1.2.840.10008.1.2.4.51" => "JPEG extended 12-bit",
        "1.2.840.10008.1.2.4.57" or "1.2.840.10008.1.2.4.70" => "JPEG lossless",
        "1.2.840.10008.1.2.4.80" or "1.2.840.10008.1.2.4.81" => "JPEG-LS",
        "1.2.840.10008.1.2.4.201" or "1.2.840.10008.1.2.4.202" or "1.2.840.10008.1.2.4.203" => "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.5" => "RLE lossless",
        "1.2.840.10008.1.2.2" => "explicit VR big endian",
        "1.2.840.10008.1.2.1.99" => "deflated explicit VR little endian",
        _ => null,
    };

    /// <summary>Size of frame <paramref name="frame"/>'s stored bytes (over DICOMweb: fetched to know).</summary>
    public long FrameBytes(int frame) => Remote is { } remote ? remote.Read(this, frame).Length : _frames[frame].Length;

    /// <summary>Bytes per native (uncompressed) frame: Rows × Columns × Samples per Pixel.</summary>
    public long NativeFrameBytes => (long)Rows * Columns * (File.Dataset.GetInteger(DicomTags.SamplesPerPixel) ?? 1);

    /// <summary>Reads frame <paramref name="frame"/>'s stored bytes (fragments joined) into <paramref name="buffer"/>; returns its length.</summary>
    public int ReadFrame(int frame, Span<byte> buffer)
    {
        var (offset, length, first, count) = _frames[frame];
        if (count == 0)
        {
            return ReadExactly(offset, buffer[..(int)length]);
        }
        var done = 0;
        for (var k = first; k < first + count; k++)
        {
            var fragment = File.Fragments[k];
            done += ReadExactly(fragment.Offset, buffer.Slice(done, fragment.Length));
        }
        return done;
    }

    private int ReadExactly(long offset, Span<byte> destination)
    {
        var n = Source!.Read(offset, destination);
        if (n != destination.Length)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"short read at offset {offset}: expected {destination.Length} bytes, got {n}"));
        }
        return n;
    }
}
