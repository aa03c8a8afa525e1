using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Full-resolution component rows to RGBA (alpha 255). YCbCr uses libjpeg's fixed-point conversion (jdcolor.c,
/// 16 fraction bits, its tables' rounding: R = Y + round(1.402 Cr'), B = Y + round(1.772 Cb'),
/// G = Y + ((−0.34414 Cb' − 0.71414 Cr' + ½) » 16) with each factor rounded to 16 bits first) — computed rather
/// than looked up so eight pixels go through at once.
/// </summary>
internal static class ColorConverter
{
    private const int ScaleBits = 16;
    private const int Half = 1 << (ScaleBits - 1);
    private static readonly int CrR = Fix(1.40200);
    private static readonly int CbB = Fix(1.77200);
    private static readonly int CrG = -Fix(0.71414);
    private static readonly int CbG = -Fix(0.34414);

    /// <summary>libjpeg's FIX(x) for SCALEBITS 16.</summary>
    private static int Fix(double x) => (int)((x * (1L << ScaleBits)) + 0.5);

    /// <summary>Converts <paramref name="width"/> pixels; the inputs need 8 readable bytes past width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void YCbCrToRgba(ReadOnlySpan<byte> y, ReadOnlySpan<byte> cb, ReadOnlySpan<byte> cr, int width, Span<byte> rgba)
    {
        if (y.Length < width || cb.Length < width || cr.Length < width || rgba.Length < width * 4)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "rows too short");
        }
        var x = 0;
        var output = MemoryMarshal.Cast<byte, uint>(rgba);
        if (JpegDecoder.UseAvx2 && Avx512F.IsSupported && width >= 16)
        {
            // Sixteen pixels a step where the CPU has 512-bit integer lanes: the same arithmetic.
            ref var y0 = ref MemoryMarshal.GetReference(y);
            ref var cb0 = ref MemoryMarshal.GetReference(cb);
            ref var cr0 = ref MemoryMarshal.GetReference(cr);
            ref var o0 = ref MemoryMarshal.GetReference(output);
            var centre = Vector512.Create(128);
            var half = Vector512.Create(Half);
            var crR = Vector512.Create(CrR);
            var cbB = Vector512.Create(CbB);
            var crG = Vector512.Create(CrG);
            var cbG = Vector512.Create(CbG);
            var max = Vector512.Create(255);
            var alpha = Vector512.Create(unchecked((int)0xFF000000));
            for (; x <= width - 16; x += 16)
            {
                var yy = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref y0, (nuint)x));
                var u = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cb0, (nuint)x)) - centre;
                var v = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cr0, (nuint)x)) - centre;
                var r = yy + Vector512.ShiftRightArithmetic((v * crR) + half, ScaleBits);
                var g = yy + Vector512.ShiftRightArithmetic((u * cbG) + (v * crG) + half, ScaleBits);
                var b = yy + Vector512.ShiftRightArithmetic((u * cbB) + half, ScaleBits);
                r = Vector512.Min(Vector512.Max(r, Vector512<int>.Zero), max);
                g = Vector512.Min(Vector512.Max(g, Vector512<int>.Zero), max);
                b = Vector512.Min(Vector512.Max(b, Vector512<int>.Zero), max);
                var px = r | (g << 8) | (b << 16) | alpha;
                px.AsUInt32().StoreUnsafe(ref o0, (nuint)x);
            }
        }
        if (JpegDecoder.UseAvx2 && width - x >= 8)
        {
            ref var y0 = ref MemoryMarshal.GetReference(y);
            ref var cb0 = ref MemoryMarshal.GetReference(cb);
            ref var cr0 = ref MemoryMarshal.GetReference(cr);
            ref var o0 = ref MemoryMarshal.GetReference(output);
            var centre = Vector256.Create(128);
            var half = Vector256.Create(Half);
            var crR = Vector256.Create(CrR);
            var cbB = Vector256.Create(CbB);
            var crG = Vector256.Create(CrG);
            var cbG = Vector256.Create(CbG);
            var max = Vector256.Create(255);
            var alpha = Vector256.Create(unchecked((int)0xFF000000));
            for (; x <= width - 8; x += 8)
            {
                var yy = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(y[x..])).AsByte());
                var u = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(cb[x..])).AsByte()) - centre;
                var v = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(cr[x..])).AsByte()) - centre;
                var r = yy + Vector256.ShiftRightArithmetic((v * crR) + half, ScaleBits);
                var g = yy + Vector256.ShiftRightArithmetic((u * cbG) + (v * crG) + half, ScaleBits);
                var b = yy + Vector256.ShiftRightArithmetic((u * cbB) + half, ScaleBits);
                r = Vector256.Min(Vector256.Max(r, Vector256<int>.Zero), max);
                g = Vector256.Min(Vector256.Max(g, Vector256<int>.Zero), max);
                b = Vector256.Min(Vector256.Max(b, Vector256<int>.Zero), max);
                var px = r | (g << 8) | (b << 16) | alpha;
                px.AsUInt32().StoreUnsafe(ref o0, (nuint)x);
            }
        }
        for (; x < width; x++)
        {
            int yy = y[x], u = cb[x] - 128, v = cr[x] - 128;
            var r = Math.Clamp(yy + (((v * CrR) + Half) >> ScaleBits), 0, 255);
            var g = Math.Clamp(yy + (((u * CbG) + (v * CrG) + Half) >> ScaleBits), 0, 255);
            var b = Math.Clamp(yy + (((u * CbB) + Half) >> ScaleBits), 0, 255);
            output[x] = (uint)(r | (g << 8) | (b << 16)) | 0xFF000000u;
        }
    }

    /// <summary>
    /// As <see cref="YCbCrToRgba"/>, but into three separate rows (R, G, B): what a planar (NCHW) tensor wants, so
    /// a pipeline need not split interleaved pixels again. Same arithmetic, so the same bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void YCbCrToPlanar(ReadOnlySpan<byte> y, ReadOnlySpan<byte> cb, ReadOnlySpan<byte> cr, int width, Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        if (y.Length < width || cb.Length < width || cr.Length < width || red.Length < width || green.Length < width || blue.Length < width)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "rows too short");
        }
        var x = 0;
        if (JpegDecoder.UseAvx2 && Avx512F.IsSupported && width >= 16)
        {
            ref var y0 = ref MemoryMarshal.GetReference(y);
            ref var cb0 = ref MemoryMarshal.GetReference(cb);
            ref var cr0 = ref MemoryMarshal.GetReference(cr);
            ref var r0 = ref MemoryMarshal.GetReference(red);
            ref var g0 = ref MemoryMarshal.GetReference(green);
            ref var b0 = ref MemoryMarshal.GetReference(blue);
            var centre = Vector512.Create(128);
            var half = Vector512.Create(Half);
            var crR = Vector512.Create(CrR);
            var cbB = Vector512.Create(CbB);
            var crG = Vector512.Create(CrG);
            var cbG = Vector512.Create(CbG);
            for (; x <= width - 16; x += 16)
            {
                var yy = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref y0, (nuint)x));
                var u = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cb0, (nuint)x)) - centre;
                var v = Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref cr0, (nuint)x)) - centre;
                var r = yy + Vector512.ShiftRightArithmetic((v * crR) + half, ScaleBits);
                var g = yy + Vector512.ShiftRightArithmetic((u * cbG) + (v * crG) + half, ScaleBits);
                var b = yy + Vector512.ShiftRightArithmetic((u * cbB) + half, ScaleBits);
                // Signed-to-unsigned saturating narrow (vpmovusdb after a max with 0) is the clamp to 0..255.
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(r, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref r0, (nuint)x);
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(g, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref g0, (nuint)x);
                Avx512F.ConvertToVector128ByteWithSaturation(Vector512.Max(b, Vector512<int>.Zero).AsUInt32()).StoreUnsafe(ref b0, (nuint)x);
            }
        }
        if (JpegDecoder.UseAvx2 && width - x >= 8)
        {
            var centre = Vector256.Create(128);
            var half = Vector256.Create(Half);
            var crR = Vector256.Create(CrR);
            var cbB = Vector256.Create(CbB);
            var crG = Vector256.Create(CrG);
            var cbG = Vector256.Create(CbG);
            for (; x <= width - 8; x += 8)
            {
                var yy = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(y[x..])).AsByte());
                var u = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(cb[x..])).AsByte()) - centre;
                var v = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(MemoryMarshal.Read<ulong>(cr[x..])).AsByte()) - centre;
                var r = yy + Vector256.ShiftRightArithmetic((v * crR) + half, ScaleBits);
                var g = yy + Vector256.ShiftRightArithmetic((u * cbG) + (v * crG) + half, ScaleBits);
                var b = yy + Vector256.ShiftRightArithmetic((u * cbB) + half, ScaleBits);
                MemoryMarshal.Write(red[x..], EightBytes(r));
                MemoryMarshal.Write(green[x..], EightBytes(g));
                MemoryMarshal.Write(blue[x..], EightBytes(b));
            }
        }
        for (; x < width; x++)
        {
            int yy = y[x], u = cb[x] - 128, v = cr[x] - 128;
            red[x] = (byte)Math.Clamp(yy + (((v * CrR) + Half) >> ScaleBits), 0, 255);
            green[x] = (byte)Math.Clamp(yy + (((u * CbG) + (v * CrG) + Half) >> ScaleBits), 0, 255);
            blue[x] = (byte)Math.Clamp(yy + (((u * CbB) + Half) >> ScaleBits), 0, 255);
        }
    }

    /// <summary>Eight int32 lanes to eight bytes with saturation (packs keep lanes in 128-bit halves, hence the two picks).</summary>
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
