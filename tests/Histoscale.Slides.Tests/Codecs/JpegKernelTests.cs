using System.Runtime.InteropServices;
using Histoscale.Slides.Codecs.Jpeg;

namespace Histoscale.Slides.Tests.Codecs;

/// <summary>
/// The JPEG decoder's vector kernels (IDCT, YCbCr to RGB, fancy upsampling) one by one against their scalar
/// versions, on inputs streams rarely reach: random and extreme coefficient blocks up to and past the vector
/// IDCT's overflow limits, every Y/Cb/Cr triple, every row width up to a few vectors. A one-off in any rounding
/// constant, a lane in the wrong place or a wrong tail shows up as a named difference.
/// </summary>
public sealed class JpegKernelTests
{
    /// <summary>The vector paths; the scalar one is the reference.</summary>
    public static TheoryData<JpegSimd> VectorPaths => [JpegSimd.Vector128, JpegSimd.Avx2];

    [SkippableTheory]
    [MemberData(nameof(VectorPaths))]
    public void IdctMatchesScalarOnRandomAndExtremeBlocks(JpegSimd simd)
    {
        RequireSupported(simd);
        var rng = new Random(20261127);
        var coef = new short[64];
        var quant = new int[64];
        const int stride = 19; // not a multiple of 8, with a 3-byte offset: rows land where the decoder's never do
        var expected = new byte[(8 * stride) + 3];
        var actual = new byte[(8 * stride) + 3];
        for (var n = 0; n < 40000; n++)
        {
            var kind = n % 5;
            var within4x4 = kind == 0;
            for (var i = 0; i < 64; i++)
            {
                // Quantisers sized so most blocks of kinds 0-2 stay within the vector limits (AC ±1120) and some do not.
                quant[i] = kind switch { 0 => rng.Next(1, 30), 1 => rng.Next(1, 96), 2 => rng.Next(100, 126), 3 => rng.Next(1, 256), _ => rng.Next(1, 1 << 16) };
                var (row, col) = (i / 8, i % 8);
                coef[i] = kind switch
                {
                    // Sparse: rows and columns 0-3 only, as the decoder's 4×4 shortcut sees them.
                    0 => row < 4 && col < 4 && rng.Next(3) == 0 ? (short)rng.Next(-40, 41) : (short)0,
                    // Dense and small, the usual high-quality block.
                    1 => (short)rng.Next(-12, 13),
                    // Dense and large, dequantised up to just past the AC limit.
                    2 => (short)rng.Next(-10, 11),
                    // A few huge values: past the limits, so the vector paths must hand the block to the scalar one.
                    3 => rng.Next(8) == 0 ? (short)rng.Next(short.MinValue, short.MaxValue + 1) : (short)0,
                    // 16-bit quantisers with small coefficients: still in range for some, not for others.
                    _ => rng.Next(6) == 0 ? (short)rng.Next(-2, 3) : (short)0,
                };
            }
            if (kind is 0 or 2)
            {
                // DC up to just past its own limit (±2048).
                quant[0] = 1;
                coef[0] = (short)rng.Next(-2060, 2061);
            }
            Array.Fill(expected, (byte)0xA5);
            Array.Fill(actual, (byte)0xA5);
            Idct.Transform(coef, quant, expected, 3, stride, JpegSimd.Scalar, within4x4);
            Idct.Transform(coef, quant, actual, 3, stride, simd, within4x4);
            var at = expected.AsSpan().CommonPrefixLength(actual);
            if (at < expected.Length)
            {
                Assert.Fail($"{simd} IDCT, block {n} (kind {kind}): sample at row {(at - 3) / stride} column {(at - 3) % stride} is {actual[at]}, scalar {expected[at]}; coefficients [{string.Join(",", coef)}], quantisers [{string.Join(",", quant)}]");
            }
        }
    }

    /// <summary>Boundary blocks: a lone DC or AC coefficient at the vector limits and one past them, every position.</summary>
    [SkippableTheory]
    [MemberData(nameof(VectorPaths))]
    public void IdctMatchesScalarAtTheVectorLimits(JpegSimd simd)
    {
        RequireSupported(simd);
        var quant = Enumerable.Repeat(1, 64).ToArray();
        var expected = new byte[64];
        var actual = new byte[64];
        foreach (var value in new[] { 2048, 2049, -2048, -2049, 1120, 1121, -1120, -1121, 1, -1, 4, -4 })
        {
            for (var position = 0; position < 64; position++)
            {
                var coef = new short[64];
                coef[position] = (short)value;
                coef[63 - position] += (short)(value / 3); // a second, smaller term so the butterfly mixes
                var within4x4 = position % 8 < 4 && position / 8 < 4 && (63 - position) % 8 < 4 && (63 - position) / 8 < 4;
                Idct.Transform(coef, quant, expected, 0, 8, JpegSimd.Scalar, within4x4);
                Idct.Transform(coef, quant, actual, 0, 8, simd, within4x4);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{simd} IDCT differs for {value} at position {position}");
            }
        }
    }

    /// <summary>Every (Y, Cb, Cr) triple, in rows whose width leaves no vector tail, then every short width for the tails.</summary>
    [SkippableTheory]
    [MemberData(nameof(VectorPaths))]
    public void ColourConversionMatchesScalarForEveryTriple(JpegSimd simd)
    {
        RequireSupported(simd);
        const int width = 65536;
        var cb = new byte[width];
        var cr = new byte[width];
        for (var i = 0; i < width; i++)
        {
            cb[i] = (byte)(i >> 8);
            cr[i] = (byte)i;
        }
        var y = new byte[width];
        var expected = new byte[width * 4];
        var actual = new byte[width * 4];
        var expectedPlanes = new byte[3 * width];
        var actualPlanes = new byte[3 * width];
        for (var luma = 0; luma < 256; luma++)
        {
            Array.Fill(y, (byte)luma);
            CompareColour(y, cb, cr, width, simd, expected, actual, expectedPlanes, actualPlanes, $"Y={luma}");
        }
        var rng = new Random(5);
        for (var w = 1; w <= 80; w++)
        {
            rng.NextBytes(y.AsSpan(0, w));
            rng.NextBytes(cb.AsSpan(0, w));
            rng.NextBytes(cr.AsSpan(0, w));
            CompareColour(y, cb, cr, w, simd, expected, actual, expectedPlanes, actualPlanes, $"random row of {w}");
            AssertStaysInside(y, cb, cr, w, simd);
        }
    }

    /// <summary>Nothing is written past <paramref name="width"/> pixels: the vector loops' last, overlapping step included.</summary>
    private static void AssertStaysInside(byte[] y, byte[] cb, byte[] cr, int width, JpegSimd simd)
    {
        const int guard = 64;
        const byte sentinel = 0x5A;
        var rgba = new byte[(width * 4) + guard];
        Array.Fill(rgba, sentinel);
        ColorConverter.YCbCrToRgba(y, cb, cr, width, rgba.AsSpan(0, width * 4), simd);
        Assert.True(rgba.AsSpan(width * 4).IndexOfAnyExcept(sentinel) < 0, $"{simd} YCbCr→RGBA wrote past {width} pixels");
        var planes = new byte[3 * (width + guard)];
        Array.Fill(planes, sentinel);
        ColorConverter.YCbCrToPlanar(y, cb, cr, width, planes.AsSpan(0, width), planes.AsSpan(width + guard, width), planes.AsSpan(2 * (width + guard), width), simd);
        for (var plane = 0; plane < 3; plane++)
        {
            Assert.True(planes.AsSpan((plane * (width + guard)) + width, guard).IndexOfAnyExcept(sentinel) < 0, $"{simd} YCbCr→planar wrote past {width} pixels of plane {plane}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VectorPaths))]
    public void FancyUpsamplingMatchesScalar(JpegSimd simd)
    {
        RequireSupported(simd);
        var rng = new Random(11);
        const int most = 300;
        var near = new byte[most + 16];
        var far = new byte[most + 16];
        var sums = new short[most + 34];
        var expected = new byte[(2 * most) + 32];
        var actual = new byte[(2 * most) + 32];
        for (var width = 1; width <= most; width++)
        {
            for (var trial = 0; trial < 4; trial++)
            {
                // Extremes as well as noise: all 255 is where a 16-bit sum or a bias could overflow a byte.
                switch (trial)
                {
                    case 0:
                        Array.Fill(near, (byte)255);
                        Array.Fill(far, (byte)255);
                        break;
                    case 1:
                        Array.Fill(near, (byte)0);
                        rng.NextBytes(far);
                        break;
                    default:
                        rng.NextBytes(near);
                        rng.NextBytes(far);
                        break;
                }
                foreach (var vertical in new[] { false, true })
                {
                    Upsampler.Row(near, far, vertical, width, sums, expected, JpegSimd.Scalar);
                    Upsampler.Row(near, far, vertical, width, sums, actual, simd);
                    var at = expected.AsSpan(0, 2 * width).CommonPrefixLength(actual.AsSpan(0, 2 * width));
                    if (at < 2 * width)
                    {
                        Assert.Fail($"{simd} {(vertical ? "h2v2" : "h2v1")} upsampling, width {width} trial {trial}: output {at} is {actual[at]}, scalar {expected[at]}");
                    }
                }
            }
        }
    }

    private static void CompareColour(byte[] y, byte[] cb, byte[] cr, int width, JpegSimd simd, byte[] expected, byte[] actual, byte[] expectedPlanes, byte[] actualPlanes, string what)
    {
        ColorConverter.YCbCrToRgba(y, cb, cr, width, expected, JpegSimd.Scalar);
        ColorConverter.YCbCrToRgba(y, cb, cr, width, actual, simd);
        var at = expected.AsSpan(0, width * 4).CommonPrefixLength(actual.AsSpan(0, width * 4));
        if (at < width * 4)
        {
            var x = at / 4;
            Assert.Fail($"{simd} YCbCr→RGBA, {what}: pixel {x} (Y={y[x]} Cb={cb[x]} Cr={cr[x]}) channel {at % 4} is {actual[at]}, scalar {expected[at]}");
        }
        Planar(y, cb, cr, width, expectedPlanes, JpegSimd.Scalar);
        Planar(y, cb, cr, width, actualPlanes, simd);
        at = expectedPlanes.AsSpan(0, 3 * width).CommonPrefixLength(actualPlanes.AsSpan(0, 3 * width));
        if (at < 3 * width)
        {
            var x = at % width;
            Assert.Fail($"{simd} YCbCr→planar, {what}: pixel {x} (Y={y[x]} Cb={cb[x]} Cr={cr[x]}) plane {at / width} is {actualPlanes[at]}, scalar {expectedPlanes[at]}");
        }
    }

    private static void Planar(byte[] y, byte[] cb, byte[] cr, int width, byte[] planes, JpegSimd simd) =>
        ColorConverter.YCbCrToPlanar(y, cb, cr, width, planes.AsSpan(0, width), planes.AsSpan(width, width), planes.AsSpan(2 * width, width), simd);

    private static void RequireSupported(JpegSimd simd) =>
        Skip.If(JpegDecoder.Resolve(simd) != simd,
            $"{simd} kernels are not supported on this {RuntimeInformation.ProcessArchitecture} machine (a request would run {JpegDecoder.Resolve(simd)})");
}
