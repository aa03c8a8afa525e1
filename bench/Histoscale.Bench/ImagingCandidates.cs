using Histoscale.Slides;
using Histoscale.Slides.Codecs;
using Histoscale.Slides.Imaging;
using ImageMagick;
using ImageMagick.Formats;
using SkiaSharp;

namespace Histoscale.Bench;

/// <summary>
/// One native imaging library, on every path the product needs from one. A path a library cannot do throws
/// <see cref="NotSupportedException"/> saying why (that is a result too).
/// </summary>
public interface IImagingCandidate
{
    string Name { get; }

    /// <summary>The fallback for streams our decoder declines: complete JPEG stream to RGBA.</summary>
    void DecodeJpeg(byte[] stream, int width, int height, byte[] rgba);

    /// <summary>An Aperio 33003/33005 tile: raw JPEG 2000 codestream to RGBA (YCbCr converted as the product does).</summary>
    void DecodeJpeg2000(byte[] codestream, int width, int height, int compression, byte[] rgba);

    /// <summary><c>region</c>/<c>thumbnail</c> output: RGBA PNG, transparency kept.</summary>
    byte[] WritePng(byte[] rgba, int width, int height);

    /// <summary><c>region</c> output as .jpg: Q90 4:2:0.</summary>
    byte[] WriteJpeg(byte[] rgba, int width, int height);

    /// <summary>The synthesizer's tile encoder: RGB, Q80, 4:2:0, standard Huffman tables where the library allows.</summary>
    byte[] EncodeTile(byte[] rgb, int width, int height);
}

public static class ImagingCandidates
{
    public static IReadOnlyList<IImagingCandidate> All { get; } = [new Magick(), new Skia(), new Vips()];

    /// <summary>What the product now ships: the product's own code paths (Magick.NET-Q8-AnyCPU).</summary>
    private sealed class Magick : IImagingCandidate
    {
        private static readonly JpegWriteDefines TileDefines = new()
        {
            SamplingFactor = JpegSamplingFactor.Ratio420,
            OptimizeCoding = false,
            DctMethod = JpegDctMethod.Slow,
        };

        public string Name => "Magick.NET-Q8-AnyCPU 15.1.0";

        public void DecodeJpeg(byte[] stream, int width, int height, byte[] rgba) => JpegCodec.DecodeStream(stream, width, height, rgba, width * 4);

        public void DecodeJpeg2000(byte[] codestream, int width, int height, int compression, byte[] rgba) =>
            Jpeg2000Codec.Instance.Decode(codestream, width, height, new CodecContext("bench", compression, 6, 3, 8, 1, false, null), rgba, width * 4);

        public byte[] WritePng(byte[] rgba, int width, int height) => ImageFiles.Encode(new RgbaImage(width, height, rgba), ImageFileFormat.Png);

        public byte[] WriteJpeg(byte[] rgba, int width, int height) => ImageFiles.Encode(new RgbaImage(width, height, rgba), ImageFileFormat.Jpeg, 90);

        // The settings of the product's JpegTileEncoder (internal), minus its table splitting.
        public byte[] EncodeTile(byte[] rgb, int width, int height)
        {
            using var image = new MagickImage(rgb, new PixelReadSettings((uint)width, (uint)height, StorageType.Char, "RGB"));
            image.Quality = 80;
            image.Settings.ColorType = ColorType.TrueColor;
            return image.ToByteArray(TileDefines);
        }
    }

    /// <summary>SkiaSharp 3.119.4 with SkiaSharp.NativeAssets.Linux.NoDependencies (what the product used for JPEG fallback and PNG).</summary>
    private sealed class Skia : IImagingCandidate
    {
        public string Name => "SkiaSharp 3.119.4";

        public unsafe void DecodeJpeg(byte[] stream, int width, int height, byte[] rgba)
        {
            using var data = SKData.CreateCopy(stream);
            using var codec = SKCodec.Create(data) ?? throw new InvalidDataException("Skia: not decodable");
            fixed (byte* p = rgba)
            {
                var result = codec.GetPixels(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), (nint)p);
                if (result != SKCodecResult.Success)
                {
                    throw new InvalidDataException($"Skia: {result}");
                }
            }
        }

        public void DecodeJpeg2000(byte[] codestream, int width, int height, int compression, byte[] rgba)
        {
            using var data = SKData.CreateCopy(codestream);
            using var codec = SKCodec.Create(data);
            throw new NotSupportedException(codec is null ? "no JPEG 2000 codec (SKCodec.Create returns null)" : $"unexpected codec {codec.EncodedFormat}");
        }

        public byte[] WritePng(byte[] rgba, int width, int height) => Encode(rgba, width, height, p => p.Encode(SKEncodedImageFormat.Png, 100));

        public byte[] WriteJpeg(byte[] rgba, int width, int height) =>
            Encode(rgba, width, height, p => p.Encode(new SKJpegEncoderOptions(90, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)));

        // Skia always optimises Huffman tables; it takes 4-byte pixels only.
        public byte[] EncodeTile(byte[] rgb, int width, int height)
        {
            var rgba = new byte[width * height * 4];
            for (int s = 0, d = 0; s < rgb.Length; s += 3, d += 4)
            {
                rgba[d] = rgb[s];
                rgba[d + 1] = rgb[s + 1];
                rgba[d + 2] = rgb[s + 2];
                rgba[d + 3] = 255;
            }
            return Encode(rgba, width, height, p => p.Encode(new SKJpegEncoderOptions(80, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)));
        }

        private static unsafe byte[] Encode(byte[] rgba, int width, int height, Func<SKPixmap, SKData?> encode)
        {
            fixed (byte* p = rgba)
            {
                using var pixmap = new SKPixmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), (nint)p, width * 4);
                using var data = encode(pixmap) ?? throw new InvalidOperationException("Skia: encode failed");
                return data.ToArray();
            }
        }
    }

    /// <summary>NetVips 3.2.0 + NetVips.Native 8.18.7 (what the product used for the synthesizer's JPEG encoder).</summary>
    private sealed class Vips : IImagingCandidate
    {
        public string Name => "NetVips.Native 8.18.7";

        public void DecodeJpeg(byte[] stream, int width, int height, byte[] rgba)
        {
            using var image = NetVips.Image.JpegloadBuffer(stream, access: NetVips.Enums.Access.Sequential);
            using var withAlpha = image.Bandjoin(255);
            withAlpha.WriteToMemory<byte>().AsSpan().CopyTo(rgba);
        }

        public void DecodeJpeg2000(byte[] codestream, int width, int height, int compression, byte[] rgba)
        {
            try
            {
                using var image = NetVips.Image.Jp2kloadBuffer(codestream);
                image.WriteToMemory<byte>().AsSpan().CopyTo(rgba);
            }
            catch (NetVips.VipsException ex)
            {
                var loader = NetVips.Image.FindLoadBuffer(codestream);
                throw new NotSupportedException($"{ex.Message.ReplaceLineEndings(" ").Trim()} (loader for these bytes: {loader ?? "none"})", ex);
            }
        }

        public byte[] WritePng(byte[] rgba, int width, int height)
        {
            using var image = NetVips.Image.NewFromMemory(rgba, width, height, 4, NetVips.Enums.BandFormat.Uchar);
            return image.PngsaveBuffer();
        }

        public byte[] WriteJpeg(byte[] rgba, int width, int height)
        {
            using var image = NetVips.Image.NewFromMemory(rgba, width, height, 4, NetVips.Enums.BandFormat.Uchar);
            using var rgb = image.ExtractBand(0, 3);
            return rgb.JpegsaveBuffer(q: 90, subsampleMode: NetVips.Enums.ForeignSubsample.On, keep: NetVips.Enums.ForeignKeep.None);
        }

        public byte[] EncodeTile(byte[] rgb, int width, int height)
        {
            using var image = NetVips.Image.NewFromMemory(rgb, width, height, 3, NetVips.Enums.BandFormat.Uchar);
            return image.JpegsaveBuffer(q: 80, optimizeCoding: false, subsampleMode: NetVips.Enums.ForeignSubsample.On, keep: NetVips.Enums.ForeignKeep.None);
        }
    }
}
