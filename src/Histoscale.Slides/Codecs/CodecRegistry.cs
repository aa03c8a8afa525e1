namespace Histoscale.Slides.Codecs;

/// <summary>Maps a TIFF compression code to the codec that decodes it.</summary>
public static class CodecRegistry
{
    public static ITileCodec? For(int compression) => compression switch
    {
        Tiff.TiffCompression.Jpeg => JpegCodec.Instance,
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
