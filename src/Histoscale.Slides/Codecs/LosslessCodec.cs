using System.Buffers;
using System.IO.Compression;

namespace Histoscale.Slides.Codecs;

/// <summary>Uncompressed, LZW and Deflate blocks: decompress to samples, undo the predictor, expand to RGBA.</summary>
internal sealed class LosslessCodec : ITileCodec
{
    public static readonly LosslessCodec Instance = new();

    public unsafe void Decode(ReadOnlySpan<byte> data, int width, int height, CodecContext context, Span<byte> rgba, int stride)
    {
        var spp = context.SamplesPerPixel;
        var rowBytes = width * spp;
        var needed = rowBytes * height;
        var raw = ArrayPool<byte>.Shared.Rent(needed);
        try
        {
            var samples = raw.AsSpan(0, needed);
            int got;
            switch (context.Compression)
            {
                case Tiff.TiffCompression.None:
                    got = Math.Min(data.Length, needed);
                    data[..got].CopyTo(samples);
                    break;
                case Tiff.TiffCompression.Lzw:
                    got = LzwDecoder.Decode(data, samples);
                    break;
                case Tiff.TiffCompression.AdobeDeflate or Tiff.TiffCompression.Deflate:
                    fixed (byte* p = data)
                    {
                        using var input = new UnmanagedMemoryStream(p, data.Length);
                        using var z = new ZLibStream(input, CompressionMode.Decompress);
                        got = 0;
                        try
                        {
                            int n;
                            while (got < needed && (n = z.Read(samples[got..])) > 0)
                            {
                                got += n;
                            }
                        }
                        catch (InvalidDataException ex)
                        {
                            throw new CodecException($"deflate data is corrupt: {ex.Message}", ex);
                        }
                    }
                    break;
                default:
                    throw new CodecException($"unsupported compression {context.Compression}");
            }
            if (got < needed)
            {
                throw new CodecException($"decompressed {got} bytes, expected {needed} ({width}x{height}x{spp})");
            }
            if (context.Predictor == 2)
            {
                UndoHorizontalPredictor(samples, width, height, spp);
            }
            else if (context.Predictor is not (0 or 1))
            {
                throw new CodecException($"unsupported predictor {context.Predictor}");
            }
            SampleConverter.ToRgba(samples, width, height, context, rgba, stride);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static void UndoHorizontalPredictor(Span<byte> samples, int width, int height, int spp)
    {
        var rowBytes = width * spp;
        for (var y = 0; y < height; y++)
        {
            var row = samples.Slice(y * rowBytes, rowBytes);
            for (var i = spp; i < row.Length; i++)
            {
                row[i] += row[i - spp];
            }
        }
    }
}
