using Histoscale.Slides.Codecs;
using Histoscale.Slides.Tiff;
using ImageMagick;

namespace Histoscale.Slides.Tests.Codecs;

/// <summary>
/// JPEG 2000 tiles are decoded strictly: a truncated or unterminated codestream is a <see cref="CodecException"/>,
/// never pixels, and any OpenJPEG warning is treated as an error; valid codestreams, made here by Magick.NET, decode
/// without a warning.
/// </summary>
public sealed class Jpeg2000StrictTests
{
    private const int Size = 96;

    private static readonly CodecContext Rgb = new("t.svs", TiffCompression.Jpeg2000Rgb, 2, 3, 8, 1, false, null);

    /// <summary>A smooth RGB gradient with some detail, encoded as a raw J2K codestream (lossy at the given quality; 100 is lossless).</summary>
    private static (byte[] Codestream, byte[] Pixels) Encode(uint quality)
    {
        var pixels = new byte[Size * Size * 3];
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                var i = ((y * Size) + x) * 3;
                pixels[i] = (byte)(x * 2);
                pixels[i + 1] = (byte)(y * 2);
                pixels[i + 2] = (byte)(((x * y) + (x ^ y)) & 0xFF);
            }
        }
        using var image = new MagickImage(pixels, new PixelReadSettings(Size, Size, StorageType.Char, "RGB"));
        image.Quality = quality;
        image.Format = MagickFormat.J2k;
        return (image.ToByteArray(), pixels);
    }

    private static byte[] Decode(byte[] codestream)
    {
        var rgba = new byte[Size * Size * 4];
        Jpeg2000Codec.Instance.Decode(codestream, Size, Size, Rgb, rgba, Size * 4);
        return rgba;
    }

    [Theory]
    [InlineData(100u)]
    [InlineData(80u)]
    public void ValidCodestreamsDecodeWithoutAWarning(uint quality)
    {
        var (codestream, pixels) = Encode(quality);
        var rgba = Decode(codestream); // a warning would throw here
        var worst = 0;
        for (var i = 0; i < Size * Size; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                worst = Math.Max(worst, Math.Abs(rgba[(i * 4) + c] - pixels[(i * 3) + c]));
            }
        }
        Assert.True(quality == 100 ? worst == 0 : worst < 64, $"quality {quality}: max channel error {worst}");
    }

    /// <summary>Damaged versions of a valid codestream: cut short, end marker dropped, packet data overwritten.</summary>
    private static IEnumerable<(string What, byte[] Data)> Damaged()
    {
        var (codestream, _) = Encode(100);
        foreach (var keep in new[] { 0.95, 0.9, 0.6, 0.3 })
        {
            yield return ($"cut to {keep:P0}", codestream.AsSpan(0, (int)(codestream.Length * keep)).ToArray());
        }
        yield return ("EOC dropped", codestream.AsSpan(0, codestream.Length - 2).ToArray());
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var damaged = codestream.AsSpan(0, codestream.Length - 2).ToArray();
            var rng = new Random(seed);
            for (var i = damaged.Length / 2; i < damaged.Length; i++)
            {
                damaged[i] = (byte)rng.Next(256);
            }
            yield return ($"second half random, EOC dropped (seed {seed})", damaged);
        }
    }

    /// <summary>
    /// Cut short or without its end marker: an error. (Measured with this ImageMagick/OpenJPEG: its plain read already
    /// fails on these, so strictness is defence in depth here; packet bytes overwritten with the end marker intact
    /// decode without any warning in either mode — JPEG 2000 carries no checksum — which README states as the limit.)
    /// </summary>
    [Fact]
    public void TruncatedOrUnterminatedCodestreamsAreErrorsNotPixels()
    {
        foreach (var (what, data) in Damaged().Where(d => d.What.StartsWith("cut to", StringComparison.Ordinal) || d.What.Contains("EOC dropped", StringComparison.Ordinal)))
        {
            var ex = Assert.Throws<CodecException>(() => Decode(data));
            Assert.True(ex.Message.StartsWith("JPEG 2000", StringComparison.Ordinal), $"{what}: {ex.Message}");
            Assert.False(OnlyWarns(data), $"{what}: ImageMagick's plain read now only warns; strict decoding is what stops it");
        }
    }

    /// <summary>Whether a plain (non-strict) ImageMagick read returns an image and only warns: what the codec did before.</summary>
    private static bool OnlyWarns(byte[] codestream)
    {
        using var image = new MagickImage();
        var warned = false;
        image.Warning += (_, _) => warned = true;
        try
        {
            image.Read(codestream, new MagickReadSettings { Format = MagickFormat.J2k });
        }
        catch (MagickErrorException)
        {
            return false;
        }
        return warned;
    }
}
