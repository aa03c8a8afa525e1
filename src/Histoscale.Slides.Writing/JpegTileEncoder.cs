using Histoscale.Slides.Imaging;
using ImageMagick;
using ImageMagick.Formats;

namespace Histoscale.Slides.Writing;

/// <summary>
/// Encodes 8-bit grey or RGB pixels as JPEG (YCbCr 4:2:0 for colour) and returns the abbreviated stream for a
/// TIFF tile or strip. The shared tables are found up front by encoding two unlike probe images: a table both
/// probes agree on depends only on the quality and goes into JPEGTables. This keeps encoding parallel and the
/// output independent of which tile happens to be encoded first. Thread-safe.
/// </summary>
internal sealed class JpegTileEncoder
{
    private readonly int _quality;
    private readonly int _samples;
    private readonly JpegWriteDefines _defines;
    private readonly List<byte[]> _shared;

    public JpegTileEncoder(int quality, int samplesPerPixel, JpegEncoderKind kind)
    {
        _quality = quality;
        _samples = samplesPerPixel;
        _defines = new JpegWriteDefines
        {
            // 2×2 on a lone grey component is legal JPEG, but libtiff rejects it (it expects 1×1 outside YCbCr).
            SamplingFactor = samplesPerPixel == 1 ? JpegSamplingFactor.Ratio444 : JpegSamplingFactor.Ratio420,
            // Standard tables are the same for every tile, so they go to JPEGTables with the quantisation tables;
            // optimised ones (ImageMagick's default) differ per tile and stay inline.
            OptimizeCoding = kind == JpegEncoderKind.OptimizedHuffman,
            DctMethod = JpegDctMethod.Slow, // libjpeg's accurate integer DCT, stated rather than left to ImageMagick's default
        };
        var a = ProbeTables(flat: false);
        var b = ProbeTables(flat: true);
        _shared = [.. a.Where(s => b.Any(t => t.AsSpan().SequenceEqual(s)))];
        JpegTables = JpegTableSplitter.TablesStream(_shared);
    }

    /// <summary>Value of the JPEGTables tag.</summary>
    public byte[] JpegTables { get; }

    public EncodedChunk Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var output = new ChunkBuilder((width * height / 4) + 1024);
        JpegTableSplitter.WriteAbbreviated(EncodeComplete(pixels, width, height), _shared, output);
        return output.ToChunk();
    }

    private List<byte[]> ProbeTables(bool flat)
    {
        const int size = 32;
        var pixels = new byte[size * size * _samples];
        var state = 0x9E3779B9u;
        for (var i = 0; i < pixels.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            pixels[i] = flat ? (byte)(100 + (i % 3)) : (byte)state;
        }
        return JpegTableSplitter.TableSegments(EncodeComplete(pixels, size, size));
    }

    /// <summary>A complete (interchange) JPEG stream of the pixels, from libjpeg-turbo inside ImageMagick.</summary>
    private byte[] EncodeComplete(ReadOnlySpan<byte> pixels, int width, int height)
    {
        using var image = MagickPixels.FromPixels(pixels, width, height, _samples == 1 ? "I" : "RGB");
        image.Quality = (uint)_quality;
        // ImageMagick writes a one-component JPEG for any image whose pixels happen to be grey (a blank glass tile)
        // unless the type is fixed; a YCbCr TIFF needs three components in every tile.
        image.Settings.ColorType = _samples == 1 ? ColorType.Grayscale : ColorType.TrueColor;
        return image.ToByteArray(_defines);
    }
}
