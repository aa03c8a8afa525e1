using Histoscale.Slides.Codecs;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// JPEG 2000 frames (1.2.840.10008.1.2.4.90/.91). Whether the decoder's output is already RGB is decided by the
/// codestream itself: with the multi-component transform (COD's MCT flag; YBR_RCT / YBR_ICT) it is; without one,
/// a YBR_FULL photometric means the components are Y, Cb, Cr and are converted here. Producers label this
/// inconsistently (orthanc-wsi writes YBR_FULL_422 over RCT codestreams), so the flag, not the label, decides.
/// </summary>
internal sealed class DicomJpeg2000 : ITileCodec
{
    public static readonly DicomJpeg2000 Instance = new();

    public void Decode(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> rgba, int stride)
    {
        var ycbcr = context.Compression == Tiff.TiffCompression.Jpeg2000YCbCr && !HasMct(data);
        Jpeg2000Codec.Instance.Decode(data, width, height, context with { Compression = ycbcr ? Tiff.TiffCompression.Jpeg2000YCbCr : Tiff.TiffCompression.Jpeg2000Rgb }, rgba, stride);
    }

    /// <summary>True when the main header's COD segment sets the multi-component transform.</summary>
    internal static bool HasMct(ReadOnlySpan<byte> codestream)
    {
        // SOC, then marker segments (each FFxx + 16-bit length) up to the first tile-part (SOT, FF90).
        if (codestream.Length < 4 || codestream[0] != 0xFF || codestream[1] != 0x4F)
        {
            return false;
        }
        var i = 2;
        while (i + 4 <= codestream.Length && codestream[i] == 0xFF)
        {
            var marker = codestream[i + 1];
            var length = (codestream[i + 2] << 8) | codestream[i + 3];
            if (marker == 0x90 || length < 2)
            {
                return false;
            }
            if (marker == 0x52)
            {
                // Lcod(2) Scod(1) progression(1) layers(2) MCT(1)
                return i + 10 < codestream.Length && codestream[i + 10] != 0;
            }
            i += 2 + length;
        }
        return false;
    }
}
