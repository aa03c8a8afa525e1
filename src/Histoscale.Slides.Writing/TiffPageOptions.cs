using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>SampleFormat tag values.</summary>
public enum TiffSampleFormat
{
    /// <summary>Unsigned integer samples.</summary>
    UnsignedInt = 1,
    /// <summary>Two's-complement signed integer samples.</summary>
    SignedInt = 2,
    /// <summary>IEEE floating-point samples (32 or 64 bits).</summary>
    Float = 3,
}

/// <summary>
/// What one TIFF image (page or SubIFD) looks like: geometry, sample layout, compression and descriptive tags.
/// Tiled when <see cref="TileWidth"/> is set, otherwise stripped.
/// </summary>
public sealed record TiffPageOptions
{
    /// <summary>Image width in pixels.</summary>
    public required int Width { get; init; }
    /// <summary>Image height in pixels.</summary>
    public required int Height { get; init; }

    /// <summary>1 (grey), 3 (RGB) or 4 (RGB + extra sample).</summary>
    public int SamplesPerPixel { get; init; } = 3;

    /// <summary>8, 16, 32 or 64 bits per sample (JPEG: 8 only).</summary>
    public int BitsPerSample { get; init; } = 8;

    /// <summary>How samples are interpreted (SampleFormat tag); unsigned integers by default.</summary>
    public TiffSampleFormat SampleFormat { get; init; } = TiffSampleFormat.UnsignedInt;

    /// <summary>Tile width in pixels (multiple of 16); 0 writes strips.</summary>
    public int TileWidth { get; init; }

    /// <summary>Tile height in pixels (multiple of 16); defaults to <see cref="TileWidth"/>.</summary>
    public int TileHeight { get; init; }

    /// <summary>Rows per strip for stripped images; 0 picks about 64 KiB of raw data per strip.</summary>
    public int RowsPerStrip { get; init; }

    /// <summary>Compression applied to each tile or strip; none by default.</summary>
    public TiffWriteCompression Compression { get; init; } = TiffWriteCompression.None;

    /// <summary>Horizontal differencing (Predictor 2) before LZW or deflate; integer samples only.</summary>
    public bool HorizontalPredictor { get; init; }

    /// <summary>JPEG quality 1..100.</summary>
    public int JpegQuality { get; init; } = 80;

    /// <summary>Huffman table choice for JPEG compression.</summary>
    public JpegEncoderKind JpegEncoder { get; init; } = JpegEncoderKind.StandardHuffman;

    /// <summary>zlib level for deflate.</summary>
    public System.IO.Compression.CompressionLevel DeflateLevel { get; init; } = System.IO.Compression.CompressionLevel.Optimal;

    /// <summary>
    /// JPEGTables for callers that feed pre-compressed JPEG tiles (<see cref="TiffPageWriter.WriteEncodedTile"/>);
    /// ignored when the writer encodes JPEG itself.
    /// </summary>
    public byte[]? JpegTables { get; init; }

    /// <summary>Photometric override; by default MinIsBlack for 1 sample, YCbCr for JPEG RGB, else RGB.</summary>
    public int? Photometric { get; init; }

    /// <summary>ExtraSamples value for the 4th sample: 0 unspecified, 1 associated alpha, 2 unassociated alpha.</summary>
    public int ExtraSample { get; init; } = 2;

    /// <summary>NewSubfileType: 0 full image, 1 reduced resolution, 9 (Aperio macro) etc.</summary>
    public int NewSubfileType { get; init; }

    /// <summary>ImageDescription tag (Aperio writes its metadata here); null writes no tag.</summary>
    public string? Description { get; init; }
    /// <summary>Software tag; null writes no tag.</summary>
    public string? Software { get; init; }

    /// <summary>DateTime tag; written as "YYYY:MM:DD HH:MM:SS". Left null, no tag (keeps output reproducible).</summary>
    public DateTime? DateTime { get; init; }

    /// <summary>Pixels per centimetre (ResolutionUnit 3); null writes no resolution tags.</summary>
    public double? PixelsPerCmX { get; init; }

    /// <summary>Vertical pixels per centimetre; see <see cref="PixelsPerCmX"/>.</summary>
    public double? PixelsPerCmY { get; init; }

    internal bool IsTiled => TileWidth > 0;
    internal int EffectiveTileHeight => TileHeight > 0 ? TileHeight : TileWidth;
    internal int BytesPerPixel => SamplesPerPixel * BitsPerSample / 8;

    internal int EffectiveRowsPerStrip
    {
        get
        {
            if (RowsPerStrip > 0)
            {
                return Math.Min(RowsPerStrip, Height);
            }
            var rows = Math.Max(1, 65536 / Math.Max(1, Width * BytesPerPixel));
            if (Compression == TiffWriteCompression.Jpeg)
            {
                rows = Math.Max(16, rows / 16 * 16); // whole MCU rows, so strips join seamlessly
            }
            return Math.Min(rows, Height);
        }
    }

    internal int EffectivePhotometric => Photometric ?? (SamplesPerPixel == 1
        ? TiffPhotometric.MinIsBlack
        : Compression == TiffWriteCompression.Jpeg ? TiffPhotometric.YCbCr : TiffPhotometric.Rgb);

    /// <summary>Rejects combinations that would produce an invalid or unreadable TIFF.</summary>
    internal void Validate()
    {
        static void Check(bool ok, string what)
        {
            if (!ok)
            {
                throw new ArgumentException($"Invalid TIFF page options: {what}");
            }
        }
        Check(Width > 0 && Height > 0, $"size {Width}x{Height} must be positive");
        Check(SamplesPerPixel is 1 or 3 or 4, $"SamplesPerPixel {SamplesPerPixel} must be 1, 3 or 4");
        Check(BitsPerSample is 8 or 16 or 32 or 64, $"BitsPerSample {BitsPerSample} must be 8, 16, 32 or 64");
        Check(SampleFormat != TiffSampleFormat.Float || BitsPerSample >= 32, "float samples need 32 or 64 bits");
        Check(TileWidth >= 0 && TileWidth % 16 == 0 && EffectiveTileHeight % 16 == 0, "tile sizes must be multiples of 16");
        Check(!HorizontalPredictor || SampleFormat != TiffSampleFormat.Float, "horizontal predictor needs integer samples");
        Check(!HorizontalPredictor || Compression is TiffWriteCompression.Lzw or TiffWriteCompression.Deflate, "predictor only with LZW or deflate");
        if (Compression == TiffWriteCompression.Jpeg)
        {
            Check(BitsPerSample == 8 && SamplesPerPixel is 1 or 3, "JPEG needs 8-bit grey or RGB");
            Check(JpegQuality is >= 1 and <= 100, $"JPEG quality {JpegQuality} must be 1..100");
            Check(IsTiled || RowsPerStrip == 0 || RowsPerStrip % 16 == 0 || RowsPerStrip >= Height, "JPEG strips must hold whole 16-row MCUs");
        }
    }
}
