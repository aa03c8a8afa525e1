using System.Buffers;
using System.IO.Compression;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>Compresses one uncompressed tile or strip with the page's compression. Pure and thread-safe.</summary>
internal sealed class TiffChunkEncoder
{
    private readonly TiffPageOptions _options;
    private readonly JpegTileEncoder? _jpeg;

    public TiffChunkEncoder(TiffPageOptions options)
    {
        _options = options;
        if (options.Compression == TiffWriteCompression.Jpeg)
        {
            _jpeg = new JpegTileEncoder(options.JpegQuality, options.SamplesPerPixel, options.JpegEncoder);
        }
    }

    /// <summary>JPEGTables for JPEG pages the writer encodes itself.</summary>
    public byte[]? JpegTables => _jpeg?.JpegTables;

    public int TiffCompressionCode => _options.Compression switch
    {
        TiffWriteCompression.Lzw => TiffCompression.Lzw,
        TiffWriteCompression.Deflate => TiffCompression.AdobeDeflate,
        TiffWriteCompression.Jpeg => TiffCompression.Jpeg,
        _ => TiffCompression.None,
    };

    /// <summary>Encodes <paramref name="rows"/> rows of <paramref name="width"/> pixels, tightly packed.</summary>
    public EncodedChunk Encode(ReadOnlySpan<byte> pixels, int width, int rows)
    {
        var size = width * rows * _options.BytesPerPixel;
        if (pixels.Length < size)
        {
            throw new ArgumentException($"expected {size} bytes of pixels for {width}x{rows}, got {pixels.Length}");
        }
        pixels = pixels[..size];
        switch (_options.Compression)
        {
            case TiffWriteCompression.Jpeg:
                return _jpeg!.Encode(pixels, width, rows);
            case TiffWriteCompression.None:
                {
                    var raw = new ChunkBuilder(size);
                    raw.Write(pixels);
                    return raw.ToChunk();
                }
        }
        byte[]? predicted = null;
        try
        {
            if (_options.HorizontalPredictor)
            {
                predicted = ArrayPool<byte>.Shared.Rent(size);
                pixels.CopyTo(predicted);
                HorizontalPredictor.Apply(predicted.AsSpan(0, size), width, rows, _options.SamplesPerPixel, _options.BitsPerSample);
                pixels = predicted.AsSpan(0, size);
            }
            return _options.Compression == TiffWriteCompression.Lzw
                ? TiffLzwEncoder.ForCurrentThread.Encode(pixels)
                : Deflate(pixels, _options.DeflateLevel);
        }
        finally
        {
            if (predicted is not null)
            {
                ArrayPool<byte>.Shared.Return(predicted);
            }
        }
    }

    private static EncodedChunk Deflate(ReadOnlySpan<byte> pixels, CompressionLevel level)
    {
        var output = new ChunkBuilder((pixels.Length / 2) + 64);
        using (var z = new ZLibStream(new ChunkBuilderStream(output), level, leaveOpen: false))
        {
            z.Write(pixels);
        }
        return output.ToChunk();
    }

    /// <summary>Write-only stream adapter so zlib output lands directly in a rented buffer.</summary>
    private sealed class ChunkBuilderStream(ChunkBuilder output) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => output.Length;

        public override long Position
        {
            get => output.Length;
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
