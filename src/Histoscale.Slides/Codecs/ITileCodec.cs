namespace Histoscale.Slides.Codecs;

/// <summary>What a codec needs to know about the encoded block it decodes (all of it from the TIFF directory).</summary>
internal sealed record CodecContext(
    string File,
    int Compression,
    int Photometric,
    int SamplesPerPixel,
    int BitsPerSample,
    int Predictor,
    bool HasAlpha,
    byte[]? JpegTables,
    Jpeg.JpegSimd JpegSimd = Jpeg.JpegSimd.Auto);

/// <summary>
/// Decodes one compressed tile or strip of known size into RGBA (alpha 255 unless the image carries alpha).
/// Implementations are stateless and thread-safe; one instance serves every thread.
/// </summary>
internal interface ITileCodec
{
    /// <param name="data">The compressed bytes.</param>
    /// <param name="width">Width of the encoded block in pixels.</param>
    /// <param name="height">Height of the encoded block in pixels.</param>
    /// <param name="context">What the TIFF directory says about the block (photometric, tables, bits...).</param>
    /// <param name="rgba">Destination, at least height rows of <paramref name="stride"/> bytes.</param>
    /// <param name="stride">Bytes per destination row (≥ width × 4).</param>
    /// <exception cref="CodecException">The data is corrupt or of an unsupported kind.</exception>
    void Decode(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> rgba, int stride);

    /// <summary>
    /// Decodes an opaque block straight into three planes (R, G, B; width × height bytes each) when the codec can
    /// do so without an RGBA pass; false when it cannot for this block (the caller then uses <see cref="Decode"/>).
    /// </summary>
    bool TryDecodePlanar(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> red, Span<byte> green, Span<byte> blue) => false;

    /// <summary>Whether <see cref="TryDecodePlanar"/> can ever succeed, so callers need not fetch a block just to be declined.</summary>
    bool SupportsPlanar => false;
}

/// <summary>A codec's complaint about one block; the caller adds the file, level and tile.</summary>
internal sealed class CodecException(string message, Exception? inner = null) : Exception(message, inner);
