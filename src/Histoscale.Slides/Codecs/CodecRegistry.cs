namespace Histoscale.Slides.Codecs;

/// <summary>Maps a TIFF compression code to the codec that decodes it.</summary>
internal static class CodecRegistry
{
    // One immutable codec per decoder path (they hold no state), so choosing a path allocates nothing.
    private static readonly JpegCodec[] JpegCodecs = [.. Enum.GetValues<Jpeg.JpegSimd>().Select(s => new JpegCodec(s))];

    /// <summary>The codec for <paramref name="compression"/>, JPEG decoding with the <paramref name="jpegSimd"/> kernels; null if unsupported.</summary>
    public static ITileCodec? For(int compression, Jpeg.JpegSimd jpegSimd = Jpeg.JpegSimd.Auto) => compression switch
    {
        Tiff.TiffCompression.Jpeg => JpegCodecs[(int)jpegSimd],
        Tiff.TiffCompression.None or Tiff.TiffCompression.Lzw or Tiff.TiffCompression.AdobeDeflate or Tiff.TiffCompression.Deflate => LosslessCodec.Instance,
        Tiff.TiffCompression.Jpeg2000YCbCr or Tiff.TiffCompression.Jpeg2000Rgb => Jpeg2000Codec.Instance,
        _ => null,
    };

    public static string Describe(int compression) => compression switch
    {
        Tiff.TiffCompression.None => "none",
        Tiff.TiffCompression.Lzw => "LZW",
        Tiff.TiffCompression.OldJpeg => "old-style JPEG",
        Tiff.TiffCompression.Jpeg => "JPEG",
        Tiff.TiffCompression.AdobeDeflate or Tiff.TiffCompression.Deflate => "deflate",
        Tiff.TiffCompression.Jpeg2000YCbCr or Tiff.TiffCompression.Jpeg2000Rgb => "JPEG 2000",
        _ => "unknown",
    };
}
