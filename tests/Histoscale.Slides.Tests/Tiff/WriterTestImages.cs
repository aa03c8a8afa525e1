using System.Buffers.Binary;
using ImageMagick;

namespace Histoscale.Slides.Tests.Tiff;

/// <summary>Pixel sources and comparisons for writer tests, decoded independently through libtiff (inside ImageMagick).</summary>
internal static class WriterTestImages
{
    /// <summary>Busy but deterministic pixels: gradients, XOR texture and a noisy patch (exercises LZW table resets).</summary>
    public static byte[] Pattern(int width, int height, int samples, int seed = 1)
    {
        var pixels = new byte[width * height * samples];
        var rng = new Random(seed);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                for (var c = 0; c < samples; c++)
                {
                    var noisy = x > width / 2 && y > height / 2;
                    pixels[(((y * width) + x) * samples) + c] = noisy ? (byte)rng.Next(256) : (byte)((x * (c + 1)) ^ (y + (40 * c)));
                }
            }
        }
        return pixels;
    }

    /// <summary>Decodes one page or SubIFD with libtiff (ImageMagick) to interleaved bytes: grey, RGB or RGBA as stored.</summary>
    public static byte[] Decode(string path, int page = 0, int subifd = -1)
    {
        var bytes = File.ReadAllBytes(path);
        if (subifd >= 0)
        {
            // ImageMagick reads only the main IFD chain: a copy whose header points at the SubIFD makes it page 0.
            var tiff = new TestTiffWalker(path);
            var offset = tiff.Pages[page].Values(Histoscale.Slides.Tiff.TiffTag.SubIfds)[subifd];
            if (tiff.BigTiff)
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), offset);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)offset);
            }
            page = 0;
        }
        using var images = new MagickImageCollection(bytes, new MagickReadSettings { Format = MagickFormat.Tiff, FrameIndex = (uint)page, FrameCount = 1 });
        var image = images[0];
        var mapping = image.HasAlpha ? "RGBA" : image.ColorSpace == ColorSpace.Gray ? "R" : "RGB";
        using var pixels = image.GetPixelsUnsafe();
        return pixels.ToByteArray(mapping)!;
    }

    public static double MeanAbsoluteError(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += Math.Abs(a[i] - b[i]);
        }
        return (double)sum / a.Length;
    }

    /// <summary>A temporary file deleted on dispose.</summary>
    public sealed class TempFile : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"histoscale-test-{Guid.NewGuid():N}.tif");

        public void Dispose() => File.Delete(Path);
    }
}
