using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>Which TIFF container to write.</summary>
public enum TiffFormat
{
    /// <summary>
    /// Classic TIFF unless the finished file would pass 4 GiB, then BigTIFF. The choice is exact, not estimated:
    /// all IFDs are written at the end, when every offset is known, and the header slot is sized for either.
    /// </summary>
    Auto,

    /// <summary>Classic TIFF (32-bit offsets). Writing past 4 GiB throws rather than produce a corrupt file.</summary>
    Classic,

    /// <summary>BigTIFF (64-bit offsets).</summary>
    BigTiff,
}

/// <summary>Compression applied by the writer to the uncompressed tiles or strips it is fed.</summary>
public enum TiffWriteCompression
{
    /// <summary>Uncompressed (TIFF code 1).</summary>
    None,
    /// <summary>LZW (TIFF code 5).</summary>
    Lzw,

    /// <summary>zlib stream, TIFF code 8 (Adobe deflate), as libtiff and libvips write it.</summary>
    Deflate,

    /// <summary>JPEG (TIFF code 7) with shared JPEGTables; YCbCr 4:2:0 for RGB, one component for grey.</summary>
    Jpeg,
}

/// <summary>How the JPEG encoder (libjpeg-turbo inside ImageMagick) codes tiles: which Huffman tables it uses.</summary>
public enum JpegEncoderKind
{
    /// <summary>
    /// Standard Huffman tables: every table is shared and tiles are fully abbreviated (SOI, SOF, SOS, data,
    /// EOI), as Aperio and libtiff write them.
    /// </summary>
    StandardHuffman,

    /// <summary>
    /// Huffman tables optimised per tile (a few percent smaller): only the quantisation tables can be shared in
    /// JPEGTables; each tile keeps its own small DHT segments inline.
    /// </summary>
    OptimizedHuffman,
}

/// <summary>File-level options of <see cref="TiffWriter"/>.</summary>
public sealed record TiffWriterOptions
{
    /// <summary>Classic TIFF, BigTIFF, or the smallest that fits (default).</summary>
    public TiffFormat Format { get; init; } = TiffFormat.Auto;

    /// <summary>Threads used to compress tiles in <see cref="TiffPageWriter.WriteTileRow"/>; output is identical for any value.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;
}
