using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Histoscale.Bench;

/// <summary>One JPEG decoder under test: complete stream in, RGBA (or its native 3/4-byte layout) out.</summary>
public interface IJpegCandidate
{
    string Name { get; }

    void Decode(byte[] stream, int width, int height, byte[] rgba);
}

public static class JpegCandidates
{
    public static IReadOnlyList<IJpegCandidate> All { get; } = [new Histoscale(), new Skia(), new Vips(), new Magick(), new ImageSharpManaged()];

    private sealed class Histoscale : IJpegCandidate
    {
        public string Name => "Histoscale SIMD (managed) -> RGBA";

        public void Decode(byte[] stream, int width, int height, byte[] rgba)
        {
            if (!JpegDecoder.TryDecode(stream, width, height, rgba, width * 4))
            {
                throw new InvalidOperationException("declined");
            }
        }
    }

    private sealed class Skia : IJpegCandidate
    {
        private static readonly IImagingCandidate Candidate = ImagingCandidates.All.Single(c => c.Name.StartsWith("SkiaSharp", StringComparison.Ordinal));

        public string Name => "SkiaSharp (libjpeg-turbo) -> RGBA";

        public void Decode(byte[] stream, int width, int height, byte[] rgba) => Candidate.DecodeJpeg(stream, width, height, rgba);
    }

    private sealed class Vips : IJpegCandidate
    {
        public string Name => "NetVips (libjpeg-turbo) -> RGB";

        public void Decode(byte[] stream, int width, int height, byte[] rgba)
        {
            using var image = NetVips.Image.JpegloadBuffer(stream, access: NetVips.Enums.Access.Sequential);
            var written = image.WriteToMemory<byte>();
            written.AsSpan().CopyTo(rgba);
        }
    }

    /// <summary>The product's fallback (<see cref="JpegCodec.DecodeStream"/>): libjpeg-turbo inside ImageMagick.</summary>
    private sealed class Magick : IJpegCandidate
    {
        public string Name => "Magick.NET (libjpeg-turbo) -> RGBA";

        public void Decode(byte[] stream, int width, int height, byte[] rgba) => JpegCodec.DecodeStream(stream, width, height, rgba, width * 4);
    }

    private sealed class ImageSharpManaged : IJpegCandidate
    {
        public string Name => "ImageSharp 2 (managed) -> RGBA";

        public void Decode(byte[] stream, int width, int height, byte[] rgba)
        {
            using var image = SixLabors.ImageSharp.Image.Load<Rgba32>(stream);
            image.CopyPixelDataTo(rgba);
        }
    }
}
