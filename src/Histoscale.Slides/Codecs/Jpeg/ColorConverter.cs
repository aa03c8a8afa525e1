using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Full-resolution component rows to RGBA (alpha 255) or to R, G, B planes. YCbCr uses libjpeg's fixed-point
/// conversion (jdcolor.c, 16 fraction bits, its tables' rounding: R = Y + round(1.402 Cr'), B = Y + round(1.772 Cb'),
/// G = Y + ((−0.34414 Cb' − 0.71414 Cr' + ½) » 16) with each factor rounded to 16 bits first) — computed rather
/// than looked up so 16 (AVX-512), 8 (AVX2) or 4 (Vector128: NEON, SSE) pixels go through at once. The
/// arithmetic lives once per width (<see cref="Convert16"/>, <see cref="Convert8"/>, <see cref="Convert4"/>,
/// <see cref="Convert1"/>); the public methods differ only in how they store. <c>path</c> is a resolved
/// <see cref="JpegSimd"/>; the AVX-512 loops belong to the Avx2 path.
/// </summary>
internal static class ColorConverter
{
    private const int ScaleBits = 16;
    private const int Half = 1 << (ScaleBits - 1);

    // libjpeg's FIX(x) = (int)(x · 2^16 + 0.5) for its four factors.
    private const int CrR = 91881; // FIX(1.40200)
    private const int CbB = 116130; // FIX(1.77200)
    private const int CrG = -46802; // -FIX(0.71414)
    private const int CbG = -22554; // -FIX(0.34414)

    /// <summary>Converts <paramref name="width"/> pixels to RGBA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void YCbCrToRgba(ReadOnlySpan<byte> y, ReadOnlySpan<byte> cb, ReadOnlySpan<byte> cr, int width, Span<byte> rgba, JpegSimd path)
    {
        if (y.Length < width || cb.Length < width || cr.Length < width || rgba.Length < width * 4)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "rows too short");
        }
        var x = 0;
        var output = MemoryMarshal.Cast<byte, uint>(rgba);
        ref var y0 = ref MemoryMarshal.GetReference(y);
        ref var cb0 = ref MemoryMarshal.GetReference(cb);
        ref var cr0 = ref MemoryMarshal.GetReference(cr);
        ref var o0 = ref MemoryMarshal.GetReference(output);
        var avx2 = Avx2.IsSupported && path == JpegSimd.Avx2;
        if (avx2 && Avx512F.IsSupported)
        {
            var max = Vector512.Create(255);
            var alpha = Vector512.Create(unchecked((int)0xFF000000));
            for (; x <= width - 16; x += 16)
            {
                Convert16(ref y0, ref cb0, ref cr0, x, out var r, out var g, out var b);
                r = Vector512.Min(Vector512.Max(r, Vector512<int>.Zero), max);
                g = Vector512.Min(Vector512.Max(g, Vector512<int>.Zero), max);
                b = Vector512.Min(Vector512.Max(b, Vector512<int>.Zero), max);
                (r | (g << 8) | (b << 16) | alpha).AsUInt32().StoreUnsafe(ref o0, (nuint)x);
            }
        }
        if (avx2)
        {
            var max = Vector256.Create(255);
            var alpha = Vector256.Create(unchecked((int)0xFF000000));
            for (; x <= width - 8; x += 8)
            {
                Convert8(ref y0, ref cb0, ref cr0, x, out var r, out var g, out var b);
                r = Vector256.Min(Vector256.Max(r, Vector256<int>.Zero), max);
                g = Vector256.Min(Vector256.Max(g, Vector256<int>.Zero), max);
                b = Vector256.Min(Vector256.Max(b, Vector256<int>.Zero), max);
                (r | (g << 8) | (b << 16) | alpha).AsUInt32().StoreUnsafe(ref o0, (nuint)x);
            }
        }
        if (path == JpegSimd.Vector128 && width >= 16)
        {
            for (; x <= width - 16; x += 16)
            {
                Rgba16(ref y0, ref cb0, ref cr0, x, ref o0);
            }
            if (x < width)
            {
                // The last 16 pixels again, overlapping ones already done: same inputs, same bytes, no scalar tail.
                Rgba16(ref y0, ref cb0, ref cr0, width - 16, ref o0);
                x = width;
            }
        }
        for (; x < width; x++)
        {
            Convert1(y[x], cb[x], cr[x], out var r, out var g, out var b);
            output[x] = (uint)(r | (g << 8) | (b << 16)) | 0xFF000000u;
        }
    }

    /// <summary>
    /// As <see cref="YCbCrToRgba"/>, but into three separate rows (R, G, B): what a planar (NCHW) tensor wants, so
    /// a pipeline need not split interleaved pixels again. Same arithmetic, so the same bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void YCbCrToPlanar(ReadOnlySpan<byte> y, ReadOnlySpan<byte> cb, ReadOnlySpan<byte> cr, int width, Span<byte> red, Span<byte> green, Span<byte> blue, JpegSimd path)
    {
        if (y.Length < width || cb.Length < width || cr.Length < width || red.Length < width || green.Length < width || blue.Length < width)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "rows too short");
        }
        var x = 0;
        ref var y0 = ref MemoryMarshal.GetReference(y);
        ref var cb0 = ref MemoryMarshal.GetReference(cb);
        ref var cr0 = ref MemoryMarshal.GetReference(cr);
        ref var r0 = ref MemoryMarshal.GetReference(red);
        ref var g0 = ref MemoryMarshal.GetReference(green);
        ref var b0 = ref MemoryMarshal.GetReference(blue);
        var avx2 = Avx2.IsSupported && path == JpegSimd.Avx2;
        if (avx2 && Avx512F.IsSupported)
        {
            for (; x <= width - 16; x += 16)
            {
                Convert16(ref y0, ref cb0, ref cr0, x, out var r, out var g, out var b);
                // Signed-to-unsigned saturating narrow (vpmovusdb after a max with 0) is the clamp to 0..255.
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(r, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref r0, (nuint)x);
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(g, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref g0, (nuint)x);
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(b, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref b0, (nuint)x);
            }
        }
        if (avx2)
        {
            for (; x <= width - 8; x += 8)
            {
                Convert8(ref y0, ref cb0, ref cr0, x, out var r, out var g, out var b);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref r0, x), EightBytes(r));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref g0, x), EightBytes(g));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref b0, x), EightBytes(b));
            }
        }
        if (path == JpegSimd.Vector128 && width >= 16)
        {
            for (; x <= width - 16; x += 16)
            {
                Planar16(ref y0, ref cb0, ref cr0, x, ref r0, ref g0, ref b0);
            }
            if (x < width)
            {
                Planar16(ref y0, ref cb0, ref cr0, width - 16, ref r0, ref g0, ref b0); // overlapping, as for RGBA
                x = width;
            }
        }
        for (; x < width; x++)
        {
            Convert1(y[x], cb[x], cr[x], out var r, out var g, out var b);
            red[x] = (byte)r;
            green[x] = (byte)g;
            blue[x] = (byte)b;
        }
    }

    /// <summary>Sixteen pixels from <paramref name="x"/> on, unclamped (callers clamp as they store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Convert16(ref byte y0, ref byte cb0, ref byte cr0, int x, out Vector512<int> r, out Vector512<int> g, out Vector512<int> b)
    {
        var centre = Vector512.Create(128);
        var half = Vector512.Create(Half);
        var yy = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref y0, (nuint)x));
        var u = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cb0, (nuint)x)) - centre;
        var v = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cr0, (nuint)x)) - centre;
        r = yy + Vector512.ShiftRightArithmetic((v * Vector512.Create(CrR)) + half, ScaleBits);
        g = yy + Vector512.ShiftRightArithmetic((u * Vector512.Create(CbG)) + (v * Vector512.Create(CrG)) + half, ScaleBits);
        b = yy + Vector512.ShiftRightArithmetic((u * Vector512.Create(CbB)) + half, ScaleBits);
    }

    /// <summary>Eight pixels from <paramref name="x"/> on, unclamped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Convert8(ref byte y0, ref byte cb0, ref byte cr0, int x, out Vector256<int> r, out Vector256<int> g, out Vector256<int> b)
    {
        var centre = Vector256.Create(128);
        var half = Vector256.Create(Half);
        var yy = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y0, x))).AsByte());
        var u = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref cb0, x))).AsByte()) - centre;
        var v = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref cr0, x))).AsByte()) - centre;
        r = yy + Vector256.ShiftRightArithmetic((v * Vector256.Create(CrR)) + half, ScaleBits);
        g = yy + Vector256.ShiftRightArithmetic((u * Vector256.Create(CbG)) + (v * Vector256.Create(CrG)) + half, ScaleBits);
        b = yy + Vector256.ShiftRightArithmetic((u * Vector256.Create(CbB)) + half, ScaleBits);
    }

    /// <summary>Sixteen RGBA pixels from <paramref name="x"/> on, four at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rgba16(ref byte y0, ref byte cb0, ref byte cr0, int x, ref uint o0)
    {
        var yy = Vector128.LoadUnsafe(ref y0, (nuint)x);
        var u = Vector128.LoadUnsafe(ref cb0, (nuint)x);
        var v = Vector128.LoadUnsafe(ref cr0, (nuint)x);
        var (yLow, yHigh) = Vector128.Widen(yy);
        var (uLow, uHigh) = Vector128.Widen(u);
        var (vLow, vHigh) = Vector128.Widen(v);
        Pixels4(Vector128.WidenLower(yLow), Vector128.WidenLower(uLow), Vector128.WidenLower(vLow)).StoreUnsafe(ref o0, (nuint)x);
        Pixels4(Vector128.WidenUpper(yLow), Vector128.WidenUpper(uLow), Vector128.WidenUpper(vLow)).StoreUnsafe(ref o0, (nuint)x + 4);
        Pixels4(Vector128.WidenLower(yHigh), Vector128.WidenLower(uHigh), Vector128.WidenLower(vHigh)).StoreUnsafe(ref o0, (nuint)x + 8);
        Pixels4(Vector128.WidenUpper(yHigh), Vector128.WidenUpper(uHigh), Vector128.WidenUpper(vHigh)).StoreUnsafe(ref o0, (nuint)x + 12);
    }

    /// <summary>Four pixels packed as RGBA words (little-endian: R in the low byte), alpha 255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Pixels4(Vector128<uint> y, Vector128<uint> cb, Vector128<uint> cr)
    {
        Convert4(y.AsInt32(), cb.AsInt32(), cr.AsInt32(), out var r, out var g, out var b);
        var max = Vector128.Create(255);
        r = Vector128.Min(Vector128.Max(r, Vector128<int>.Zero), max);
        g = Vector128.Min(Vector128.Max(g, Vector128<int>.Zero), max);
        b = Vector128.Min(Vector128.Max(b, Vector128<int>.Zero), max);
        return (r | (g << 8) | (b << 16) | Vector128.Create(unchecked((int)0xFF000000))).AsUInt32();
    }

    /// <summary>Sixteen pixels from <paramref name="x"/> on into three planes: four at a time, then narrowed with saturation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Planar16(ref byte y0, ref byte cb0, ref byte cr0, int x, ref byte r0, ref byte g0, ref byte b0)
    {
        var (yLow, yHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref y0, (nuint)x));
        var (uLow, uHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref cb0, (nuint)x));
        var (vLow, vHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref cr0, (nuint)x));
        Convert4(Vector128.WidenLower(yLow).AsInt32(), Vector128.WidenLower(uLow).AsInt32(), Vector128.WidenLower(vLow).AsInt32(), out var ra, out var ga, out var ba);
        Convert4(Vector128.WidenUpper(yLow).AsInt32(), Vector128.WidenUpper(uLow).AsInt32(), Vector128.WidenUpper(vLow).AsInt32(), out var rb, out var gb, out var bb);
        Convert4(Vector128.WidenLower(yHigh).AsInt32(), Vector128.WidenLower(uHigh).AsInt32(), Vector128.WidenLower(vHigh).AsInt32(), out var rc, out var gc, out var bc);
        Convert4(Vector128.WidenUpper(yHigh).AsInt32(), Vector128.WidenUpper(uHigh).AsInt32(), Vector128.WidenUpper(vHigh).AsInt32(), out var rd, out var gd, out var bd);
        SixteenBytes(ra, rb, rc, rd).StoreUnsafe(ref r0, (nuint)x);
        SixteenBytes(ga, gb, gc, gd).StoreUnsafe(ref g0, (nuint)x);
        SixteenBytes(ba, bb, bc, bd).StoreUnsafe(ref b0, (nuint)x);
    }

    /// <summary>Four pixels, unclamped: the same expressions as <see cref="Convert1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Convert4(Vector128<int> yy, Vector128<int> cb, Vector128<int> cr, out Vector128<int> r, out Vector128<int> g, out Vector128<int> b)
    {
        var half = Vector128.Create(Half);
        var u = cb - Vector128.Create(128);
        var v = cr - Vector128.Create(128);
        r = yy + Vector128.ShiftRightArithmetic((v * Vector128.Create(CrR)) + half, ScaleBits);
        g = yy + Vector128.ShiftRightArithmetic((u * Vector128.Create(CbG)) + (v * Vector128.Create(CrG)) + half, ScaleBits);
        b = yy + Vector128.ShiftRightArithmetic((u * Vector128.Create(CbB)) + half, ScaleBits);
    }

    /// <summary>
    /// Sixteen int32 lanes (−179..434, so a short holds them) to bytes clamped to 0..255: signed narrowing, a max
    /// with zero, then unsigned saturating narrowing (NEON sqxtn/uqxtn, SSE packssdw/packuswb).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> SixteenBytes(Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d) =>
        Vector128.NarrowWithSaturation(
            Vector128.Max(Vector128.NarrowWithSaturation(a, b), Vector128<short>.Zero).AsUInt16(),
            Vector128.Max(Vector128.NarrowWithSaturation(c, d), Vector128<short>.Zero).AsUInt16());

    /// <summary>One pixel, clamped to 0..255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Convert1(int y, int cb, int cr, out int r, out int g, out int b)
    {
        int u = cb - 128, v = cr - 128;
        r = Math.Clamp(y + (((v * CrR) + Half) >> ScaleBits), 0, 255);
        g = Math.Clamp(y + (((u * CbG) + (v * CrG) + Half) >> ScaleBits), 0, 255);
        b = Math.Clamp(y + (((u * CbB) + Half) >> ScaleBits), 0, 255);
    }

    /// <summary>Eight int32 lanes to eight bytes with saturation (packs keep lanes in 128-bit halves, hence the two picks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightBytes(Vector256<int> values)
    {
        var words = Avx2.PackSignedSaturate(values, values);
        var bytes = Avx2.PackUnsignedSaturate(words, words).AsUInt32();
        return bytes.GetElement(0) | ((ulong)bytes.GetElement(4) << 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RgbToRgba(ReadOnlySpan<byte> r, ReadOnlySpan<byte> g, ReadOnlySpan<byte> b, int width, Span<byte> rgba)
    {
        var output = MemoryMarshal.Cast<byte, uint>(rgba)[..width];
        for (var x = 0; x < output.Length; x++)
        {
            output[x] = (uint)(r[x] | (g[x] << 8) | (b[x] << 16)) | 0xFF000000u;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GrayToRgba(ReadOnlySpan<byte> gray, int width, Span<byte> rgba)
    {
        var output = MemoryMarshal.Cast<byte, uint>(rgba)[..width];
        for (var x = 0; x < output.Length; x++)
        {
            output[x] = ((uint)gray[x] * 0x010101u) | 0xFF000000u;
        }
    }
}
