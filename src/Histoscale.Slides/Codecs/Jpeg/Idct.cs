using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Inverse DCT of one block into 8×8 samples, reproducing libjpeg's JDCT_ISLOW (jidctint.c) bit for bit: the
/// Loeffler–Ligtenberg–Moschytz butterfly in 13-bit fixed point, columns first with 2 extra bits of precision,
/// then rows, each output descaled with rounding and range-limited through libjpeg's wrap-around table.
/// The reference is libjpeg-turbo's C code on a 64-bit (LP64) build, whose intermediate sums are 64-bit while
/// the pass-1 workspace is 32-bit. The vector paths (AVX2, Vector128) work in 32 bits throughout, which gives the same results
/// whenever no sum can overflow: an interval bound over the butterfly shows that holds for dequantised DC up to
/// ±<see cref="VectorDcLimit"/> and AC up to ±<see cref="VectorAcLimit"/> (what 8-bit images produce). Blocks
/// beyond that — corrupt or adversarial streams only — take the scalar path, which mirrors the LP64 arithmetic.
/// </summary>
internal static class Idct
{
    private const int ConstBits = 13;
    private const int Pass1Bits = 2;

    // FIX(x) = round(x * 2^13): libjpeg's constants for CONST_BITS 13.
    private const int Fix0298631336 = 2446;
    private const int Fix0390180644 = 3196;
    private const int Fix0541196100 = 4433;
    private const int Fix0765366865 = 6270;
    private const int Fix0899976223 = 7373;
    private const int Fix1175875602 = 9633;
    private const int Fix1501321110 = 12299;
    private const int Fix1847759065 = 15137;
    private const int Fix1961570560 = 16069;
    private const int Fix2053119869 = 16819;
    private const int Fix2562915447 = 20995;
    private const int Fix3072711026 = 25172;

    /// <summary>Largest dequantised magnitudes for which no 32-bit intermediate of either pass can overflow.</summary>
    private const int VectorDcLimit = 2048;
    private const int VectorAcLimit = 1120;

    private const int Pass1Round = 1 << (ConstBits - Pass1Bits - 1);
    private const int Pass2Round = 1 << (ConstBits + Pass1Bits + 3 - 1);

    /// <summary>
    /// The sample a block with only a DC coefficient (already dequantised) decodes to: ISLOW's constant output.
    /// libjpeg's column shortcut forms dc &lt;&lt; 2 in an int, its row shortcut descales that in 64 bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte DcSample(int dc) => RangeLimit((int)(((long)unchecked(dc << Pass1Bits) + (1 << (Pass1Bits + 2))) >> (Pass1Bits + 3)));

    /// <summary>
    /// libjpeg's post-IDCT range limit: the descaled value is taken modulo 1024 as a signed 10-bit number, then
    /// centred and clamped (its table maps x &amp; 1023 so).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte RangeLimit(int x) => (byte)Math.Clamp((((x + 512) & 1023) - 512) + 128, 0, 255);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillDc(int dc, Span<byte> dst, int offset, int stride)
    {
        var value = 0x0101010101010101UL * DcSample(dc);
        for (var r = 0; r < 8; r++)
        {
            MemoryMarshal.Write(dst.Slice(offset + (r * stride), 8), in value);
        }
    }

    /// <summary>
    /// Transforms <paramref name="coef"/> (natural order) with quantisation table <paramref name="quant"/> into
    /// dst. <paramref name="within4x4"/>: only rows and columns 0-3 hold coefficients (the first 10 zig-zag
    /// positions), common at usual qualities; the butterfly then drops its zero terms. <paramref name="path"/> is
    /// a resolved <see cref="JpegSimd"/> (not Auto); blocks a vector path cannot take exactly go to the scalar one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transform(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int offset, int stride, JpegSimd path, bool within4x4 = false)
    {
        if (coef.Length < 64 || quant.Length < 64 || offset < 0 || stride < 8 || (long)offset + (7L * stride) + 8 > dst.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(dst), "block does not fit");
        }
        ref var c0 = ref MemoryMarshal.GetReference(coef);
        ref var q0 = ref MemoryMarshal.GetReference(quant);
        ref var d0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(dst), offset);
        // Avx2.IsSupported is a JIT-time constant: on arm64 the AVX2 branch compiles away.
        var done = path switch
        {
            JpegSimd.Avx2 when Avx2.IsSupported => within4x4 ? TransformAvx2Sparse(ref c0, ref q0, ref d0, stride) : TransformAvx2(ref c0, ref q0, ref d0, stride),
            JpegSimd.Vector128 => within4x4 ? TransformVector128Sparse(ref c0, ref q0, ref d0, stride) : TransformVector128(ref c0, ref q0, ref d0, stride),
            _ => false,
        };
        if (!done)
        {
            TransformScalar(coef, quant, dst[offset..], stride);
        }
    }

    /// <summary>libjpeg's C arithmetic exactly (64-bit sums, 32-bit workspace), for any coefficients.</summary>
    public static void TransformScalar(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int stride)
    {
        Span<int> ws = stackalloc int[64];
        Span<long> v = stackalloc long[8];
        Span<long> o = stackalloc long[8];
        for (var col = 0; col < 8; col++)
        {
            for (var i = 0; i < 8; i++)
            {
                v[i] = coef[(i * 8) + col] * quant[(i * 8) + col];
            }
            Butterfly(v, Pass1Round, o);
            for (var i = 0; i < 8; i++)
            {
                ws[(i * 8) + col] = unchecked((int)(o[i] >> (ConstBits - Pass1Bits)));
            }
        }
        for (var row = 0; row < 8; row++)
        {
            for (var i = 0; i < 8; i++)
            {
                v[i] = ws[(row * 8) + i];
            }
            Butterfly(v, Pass2Round, o);
            for (var i = 0; i < 8; i++)
            {
                dst[(row * stride) + i] = RangeLimit(unchecked((int)(o[i] >> (ConstBits + Pass1Bits + 3))));
            }
        }
    }

    /// <summary>One 1-D ISLOW pass; outputs still carry the 2^13 scale plus <paramref name="round"/>.</summary>
    private static void Butterfly(ReadOnlySpan<long> i, long round, Span<long> o)
    {
        // Even part: the rotator is sqrt(2)*c(-6).
        var z1 = (i[2] + i[6]) * Fix0541196100;
        var tmp2 = z1 + (i[6] * -Fix1847759065);
        var tmp3 = z1 + (i[2] * Fix0765366865);
        var tmp0 = ((i[0] + i[4]) << ConstBits) + round;
        var tmp1 = ((i[0] - i[4]) << ConstBits) + round;
        var tmp10 = tmp0 + tmp3;
        var tmp13 = tmp0 - tmp3;
        var tmp11 = tmp1 + tmp2;
        var tmp12 = tmp1 - tmp2;

        // Odd part.
        long t0 = i[7], t1 = i[5], t2 = i[3], t3 = i[1];
        var z1o = t0 + t3;
        var z2 = t1 + t2;
        var z3 = t0 + t2;
        var z4 = t1 + t3;
        var z5 = (z3 + z4) * Fix1175875602;
        t0 *= Fix0298631336;
        t1 *= Fix2053119869;
        t2 *= Fix3072711026;
        t3 *= Fix1501321110;
        z1o *= -Fix0899976223;
        z2 *= -Fix2562915447;
        z3 = (z3 * -Fix1961570560) + z5;
        z4 = (z4 * -Fix0390180644) + z5;
        t0 += z1o + z3;
        t1 += z2 + z4;
        t2 += z2 + z3;
        t3 += z1o + z4;

        o[0] = tmp10 + t3;
        o[7] = tmp10 - t3;
        o[1] = tmp11 + t2;
        o[6] = tmp11 - t2;
        o[2] = tmp12 + t1;
        o[5] = tmp12 - t1;
        o[3] = tmp13 + t0;
        o[4] = tmp13 - t0;
    }

    /// <summary>
    /// The same with one Vector256 per row of eight: pass 1 runs down all eight columns at once, a transpose
    /// turns columns into rows for pass 2, and a second transpose brings the samples back into row order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TransformAvx2(ref short coef, ref int quant, ref byte dst, int stride)
    {
        var r0 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 0)) * Vector256.LoadUnsafe(ref quant, 0);
        var r1 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 8)) * Vector256.LoadUnsafe(ref quant, 8);
        var r2 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 16)) * Vector256.LoadUnsafe(ref quant, 16);
        var r3 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 24)) * Vector256.LoadUnsafe(ref quant, 24);
        var r4 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 32)) * Vector256.LoadUnsafe(ref quant, 32);
        var r5 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 40)) * Vector256.LoadUnsafe(ref quant, 40);
        var r6 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 48)) * Vector256.LoadUnsafe(ref quant, 48);
        var r7 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 56)) * Vector256.LoadUnsafe(ref quant, 56);

        // Products of a 16-bit coefficient and a 16-bit quantiser fit an int, so Abs cannot meet int.MinValue.
        var acLimit = Vector256.Create(VectorAcLimit);
        var largest = Vector256.Max(Vector256.Max(Vector256.Max(Vector256.Abs(r1), Vector256.Abs(r2)), Vector256.Max(Vector256.Abs(r3), Vector256.Abs(r4))),
            Vector256.Max(Vector256.Max(Vector256.Abs(r5), Vector256.Abs(r6)), Vector256.Abs(r7)));
        if (Vector256.GreaterThanAny(largest, acLimit) || Vector256.GreaterThanAny(Vector256.Abs(r0), acLimit.WithElement(0, VectorDcLimit)))
        {
            return false;
        }

        Butterfly(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, Pass1Round);
        r0 = Vector256.ShiftRightArithmetic(r0, ConstBits - Pass1Bits);
        r1 = Vector256.ShiftRightArithmetic(r1, ConstBits - Pass1Bits);
        r2 = Vector256.ShiftRightArithmetic(r2, ConstBits - Pass1Bits);
        r3 = Vector256.ShiftRightArithmetic(r3, ConstBits - Pass1Bits);
        r4 = Vector256.ShiftRightArithmetic(r4, ConstBits - Pass1Bits);
        r5 = Vector256.ShiftRightArithmetic(r5, ConstBits - Pass1Bits);
        r6 = Vector256.ShiftRightArithmetic(r6, ConstBits - Pass1Bits);
        r7 = Vector256.ShiftRightArithmetic(r7, ConstBits - Pass1Bits);

        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Butterfly(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, Pass2Round);
        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);

        Store(r0, r1, r2, r3, r4, r5, r6, r7, ref dst, stride);
        return true;
    }

    /// <summary>
    /// <see cref="TransformAvx2"/> for blocks whose coefficients all lie in rows and columns 0-3: pass 1 reads
    /// four rows, and after the transpose columns 4-7 of the workspace are zero, so both passes use the
    /// butterfly with inputs 4-7 removed — the same integer arithmetic minus terms that are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TransformAvx2Sparse(ref short coef, ref int quant, ref byte dst, int stride)
    {
        var r0 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 0)) * Vector256.LoadUnsafe(ref quant, 0);
        var r1 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 8)) * Vector256.LoadUnsafe(ref quant, 8);
        var r2 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 16)) * Vector256.LoadUnsafe(ref quant, 16);
        var r3 = Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref coef, 24)) * Vector256.LoadUnsafe(ref quant, 24);
        var acLimit = Vector256.Create(VectorAcLimit);
        var largest = Vector256.Max(Vector256.Max(Vector256.Abs(r1), Vector256.Abs(r2)), Vector256.Abs(r3));
        if (Vector256.GreaterThanAny(largest, acLimit) || Vector256.GreaterThanAny(Vector256.Abs(r0), acLimit.WithElement(0, VectorDcLimit)))
        {
            return false;
        }

        ButterflyLow(r0, r1, r2, r3, Pass1Round, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
        w0 = Vector256.ShiftRightArithmetic(w0, ConstBits - Pass1Bits);
        w1 = Vector256.ShiftRightArithmetic(w1, ConstBits - Pass1Bits);
        w2 = Vector256.ShiftRightArithmetic(w2, ConstBits - Pass1Bits);
        w3 = Vector256.ShiftRightArithmetic(w3, ConstBits - Pass1Bits);
        w4 = Vector256.ShiftRightArithmetic(w4, ConstBits - Pass1Bits);
        w5 = Vector256.ShiftRightArithmetic(w5, ConstBits - Pass1Bits);
        w6 = Vector256.ShiftRightArithmetic(w6, ConstBits - Pass1Bits);
        w7 = Vector256.ShiftRightArithmetic(w7, ConstBits - Pass1Bits);
        Transpose(ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        ButterflyLow(w0, w1, w2, w3, Pass2Round, out r0, out r1, out r2, out var r3b, out var r4, out var r5, out var r6, out var r7);
        Transpose(ref r0, ref r1, ref r2, ref r3b, ref r4, ref r5, ref r6, ref r7);
        Store(r0, r1, r2, r3b, r4, r5, r6, r7, ref dst, stride);
        return true;
    }

    /// <summary>The butterfly with inputs 4-7 zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ButterflyLow(
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, int round,
        out Vector256<int> o0, out Vector256<int> o1, out Vector256<int> o2, out Vector256<int> o3,
        out Vector256<int> o4, out Vector256<int> o5, out Vector256<int> o6, out Vector256<int> o7)
    {
        var z1 = i2 * Vector256.Create(Fix0541196100);
        var tmp2 = z1;
        var tmp3 = z1 + (i2 * Vector256.Create(Fix0765366865));
        var tmp0 = (i0 << ConstBits) + Vector256.Create(round);
        var tmp10 = tmp0 + tmp3;
        var tmp13 = tmp0 - tmp3;
        var tmp11 = tmp0 + tmp2;
        var tmp12 = tmp0 - tmp2;

        var z5 = (i3 + i1) * Vector256.Create(Fix1175875602);
        var t2 = i3 * Vector256.Create(Fix3072711026);
        var t3 = i1 * Vector256.Create(Fix1501321110);
        var z1o = i1 * Vector256.Create(-Fix0899976223);
        var z2 = i3 * Vector256.Create(-Fix2562915447);
        var z3 = (i3 * Vector256.Create(-Fix1961570560)) + z5;
        var z4 = (i1 * Vector256.Create(-Fix0390180644)) + z5;
        var t0 = z1o + z3;
        var t1 = z2 + z4;
        t2 += z2 + z3;
        t3 += z1o + z4;

        o0 = tmp10 + t3;
        o7 = tmp10 - t3;
        o1 = tmp11 + t2;
        o6 = tmp11 - t2;
        o2 = tmp12 + t1;
        o5 = tmp12 - t1;
        o3 = tmp13 + t0;
        o4 = tmp13 - t0;
    }

    /// <summary>Range-limits pass-2 rows (still scaled, rounding added) and stores them as 8 rows of 8 samples.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(
        Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3,
        Vector256<int> r4, Vector256<int> r5, Vector256<int> r6, Vector256<int> r7, ref byte dst, int stride)
    {
        // Bits 18..27 of the sum are the descaled value modulo 1024: shifting them to the top and back
        // sign-extends them as libjpeg's range-limit table does; centre, then saturate to bytes.
        var centre = Vector256.Create(128);
        r0 = Vector256.ShiftRightArithmetic(r0 << 4, 22) + centre;
        r1 = Vector256.ShiftRightArithmetic(r1 << 4, 22) + centre;
        r2 = Vector256.ShiftRightArithmetic(r2 << 4, 22) + centre;
        r3 = Vector256.ShiftRightArithmetic(r3 << 4, 22) + centre;
        r4 = Vector256.ShiftRightArithmetic(r4 << 4, 22) + centre;
        r5 = Vector256.ShiftRightArithmetic(r5 << 4, 22) + centre;
        r6 = Vector256.ShiftRightArithmetic(r6 << 4, 22) + centre;
        r7 = Vector256.ShiftRightArithmetic(r7 << 4, 22) + centre;

        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        var rows0123 = Avx2.PermuteVar8x32(Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(r0, r1), Avx2.PackSignedSaturate(r2, r3)).AsInt32(), order).AsUInt64();
        var rows4567 = Avx2.PermuteVar8x32(Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(r4, r5), Avx2.PackSignedSaturate(r6, r7)).AsInt32(), order).AsUInt64();
        Unsafe.WriteUnaligned(ref dst, rows0123.GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, stride), rows0123.GetElement(1));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 2 * stride), rows0123.GetElement(2));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 3 * stride), rows0123.GetElement(3));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 4 * stride), rows4567.GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 5 * stride), rows4567.GetElement(1));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 6 * stride), rows4567.GetElement(2));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 7 * stride), rows4567.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Butterfly(
        ref Vector256<int> i0, ref Vector256<int> i1, ref Vector256<int> i2, ref Vector256<int> i3,
        ref Vector256<int> i4, ref Vector256<int> i5, ref Vector256<int> i6, ref Vector256<int> i7, int round)
    {
        var z1 = (i2 + i6) * Vector256.Create(Fix0541196100);
        var tmp2 = z1 + (i6 * Vector256.Create(-Fix1847759065));
        var tmp3 = z1 + (i2 * Vector256.Create(Fix0765366865));
        var tmp0 = ((i0 + i4) << ConstBits) + Vector256.Create(round);
        var tmp1 = ((i0 - i4) << ConstBits) + Vector256.Create(round);
        var tmp10 = tmp0 + tmp3;
        var tmp13 = tmp0 - tmp3;
        var tmp11 = tmp1 + tmp2;
        var tmp12 = tmp1 - tmp2;

        var t0 = i7;
        var t1 = i5;
        var t2 = i3;
        var t3 = i1;
        var z1o = t0 + t3;
        var z2 = t1 + t2;
        var z3 = t0 + t2;
        var z4 = t1 + t3;
        var z5 = (z3 + z4) * Vector256.Create(Fix1175875602);
        t0 *= Vector256.Create(Fix0298631336);
        t1 *= Vector256.Create(Fix2053119869);
        t2 *= Vector256.Create(Fix3072711026);
        t3 *= Vector256.Create(Fix1501321110);
        z1o *= Vector256.Create(-Fix0899976223);
        z2 *= Vector256.Create(-Fix2562915447);
        z3 = (z3 * Vector256.Create(-Fix1961570560)) + z5;
        z4 = (z4 * Vector256.Create(-Fix0390180644)) + z5;
        t0 += z1o + z3;
        t1 += z2 + z4;
        t2 += z2 + z3;
        t3 += z1o + z4;

        i0 = tmp10 + t3;
        i7 = tmp10 - t3;
        i1 = tmp11 + t2;
        i6 = tmp11 - t2;
        i2 = tmp12 + t1;
        i5 = tmp12 - t1;
        i3 = tmp13 + t0;
        i4 = tmp13 - t0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(
        ref Vector256<int> r0, ref Vector256<int> r1, ref Vector256<int> r2, ref Vector256<int> r3,
        ref Vector256<int> r4, ref Vector256<int> r5, ref Vector256<int> r6, ref Vector256<int> r7)
    {
        var t0 = Avx2.UnpackLow(r0, r1);
        var t1 = Avx2.UnpackHigh(r0, r1);
        var t2 = Avx2.UnpackLow(r2, r3);
        var t3 = Avx2.UnpackHigh(r2, r3);
        var t4 = Avx2.UnpackLow(r4, r5);
        var t5 = Avx2.UnpackHigh(r4, r5);
        var t6 = Avx2.UnpackLow(r6, r7);
        var t7 = Avx2.UnpackHigh(r6, r7);
        var u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32();
        var u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
        r0 = Avx2.Permute2x128(u0, u4, 0x20);
        r4 = Avx2.Permute2x128(u0, u4, 0x31);
        r1 = Avx2.Permute2x128(u1, u5, 0x20);
        r5 = Avx2.Permute2x128(u1, u5, 0x31);
        r2 = Avx2.Permute2x128(u2, u6, 0x20);
        r6 = Avx2.Permute2x128(u2, u6, 0x31);
        r3 = Avx2.Permute2x128(u3, u7, 0x20);
        r7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>
    /// The same 32-bit arithmetic as <see cref="TransformAvx2"/> on 128-bit vectors, the width NEON and SSE share:
    /// each row of eight is two vectors, left (columns 0-3) and right (4-7). Pass 1 runs down four columns per
    /// vector; four 4×4 transposes turn the workspace so pass 2 runs along four rows per vector; the store undoes
    /// that turn on the narrowed bytes, where one shuffle does what a second transpose would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TransformVector128(ref short coef, ref int quant, ref byte dst, int stride)
    {
        Dequantise(ref coef, ref quant, 0, out var l0, out var r0);
        Dequantise(ref coef, ref quant, 1, out var l1, out var r1);
        Dequantise(ref coef, ref quant, 2, out var l2, out var r2);
        Dequantise(ref coef, ref quant, 3, out var l3, out var r3);
        Dequantise(ref coef, ref quant, 4, out var l4, out var r4);
        Dequantise(ref coef, ref quant, 5, out var l5, out var r5);
        Dequantise(ref coef, ref quant, 6, out var l6, out var r6);
        Dequantise(ref coef, ref quant, 7, out var l7, out var r7);

        var acLimit = Vector128.Create(VectorAcLimit);
        var largest = Vector128.Max(Largest(l1, l2, l3, l4, l5, l6, l7, r0), Largest(r1, r2, r3, r4, r5, r6, r7, r7));
        if (Vector128.GreaterThanAny(largest, acLimit) || Vector128.GreaterThanAny(Vector128.Abs(l0), acLimit.WithElement(0, VectorDcLimit)))
        {
            return false;
        }

        Butterfly(ref l0, ref l1, ref l2, ref l3, ref l4, ref l5, ref l6, ref l7, Pass1Round);
        Butterfly(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, Pass1Round);
        DescalePass1(ref l0, ref l1, ref l2, ref l3, ref l4, ref l5, ref l6, ref l7);
        DescalePass1(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);

        // Afterwards l0-l3 hold inputs 0-3 and r0-r3 inputs 4-7 of rows 0-3, one row per lane; l4-l7, r4-r7 rows 4-7.
        Transpose(ref l0, ref l1, ref l2, ref l3);
        Transpose(ref r0, ref r1, ref r2, ref r3);
        Transpose(ref l4, ref l5, ref l6, ref l7);
        Transpose(ref r4, ref r5, ref r6, ref r7);
        Butterfly(ref l0, ref l1, ref l2, ref l3, ref r0, ref r1, ref r2, ref r3, Pass2Round);
        Butterfly(ref l4, ref l5, ref l6, ref l7, ref r4, ref r5, ref r6, ref r7, Pass2Round);

        StoreFourRows(l0, l1, l2, l3, r0, r1, r2, r3, ref dst, stride);
        StoreFourRows(l4, l5, l6, l7, r4, r5, r6, r7, ref Unsafe.Add(ref dst, 4 * stride), stride);
        return true;
    }

    /// <summary>
    /// <see cref="TransformVector128"/> for blocks whose coefficients all lie in rows and columns 0-3: pass 1 needs
    /// only the left halves of rows 0-3, the workspace's columns 4-7 come out zero, and pass 2 needs inputs 0-3
    /// only — the same integer arithmetic minus terms that are zero, as in <see cref="TransformAvx2Sparse"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TransformVector128Sparse(ref short coef, ref int quant, ref byte dst, int stride)
    {
        var r0 = Vector128.WidenLower(Vector128.LoadUnsafe(ref coef, 0)) * Vector128.LoadUnsafe(ref quant, 0);
        var r1 = Vector128.WidenLower(Vector128.LoadUnsafe(ref coef, 8)) * Vector128.LoadUnsafe(ref quant, 8);
        var r2 = Vector128.WidenLower(Vector128.LoadUnsafe(ref coef, 16)) * Vector128.LoadUnsafe(ref quant, 16);
        var r3 = Vector128.WidenLower(Vector128.LoadUnsafe(ref coef, 24)) * Vector128.LoadUnsafe(ref quant, 24);
        var acLimit = Vector128.Create(VectorAcLimit);
        var largest = Vector128.Max(Vector128.Max(Vector128.Abs(r1), Vector128.Abs(r2)), Vector128.Abs(r3));
        if (Vector128.GreaterThanAny(largest, acLimit) || Vector128.GreaterThanAny(Vector128.Abs(r0), acLimit.WithElement(0, VectorDcLimit)))
        {
            return false;
        }

        ButterflyLow(r0, r1, r2, r3, Pass1Round, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
        DescalePass1(ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        Transpose(ref w0, ref w1, ref w2, ref w3);
        Transpose(ref w4, ref w5, ref w6, ref w7);
        ButterflyLow(w0, w1, w2, w3, Pass2Round, out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
        StoreFourRows(o0, o1, o2, o3, o4, o5, o6, o7, ref dst, stride);
        ButterflyLow(w4, w5, w6, w7, Pass2Round, out o0, out o1, out o2, out o3, out o4, out o5, out o6, out o7);
        StoreFourRows(o0, o1, o2, o3, o4, o5, o6, o7, ref Unsafe.Add(ref dst, 4 * stride), stride);
        return true;
    }

    /// <summary>Row <paramref name="row"/> of the block dequantised, as columns 0-3 and 4-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dequantise(ref short coef, ref int quant, int row, out Vector128<int> left, out Vector128<int> right)
    {
        var c = Vector128.LoadUnsafe(ref coef, (nuint)(row * 8));
        left = Vector128.WidenLower(c) * Vector128.LoadUnsafe(ref quant, (nuint)(row * 8));
        right = Vector128.WidenUpper(c) * Vector128.LoadUnsafe(ref quant, (nuint)((row * 8) + 4));
    }

    /// <summary>Lane-wise largest magnitude of eight vectors (products of 16-bit values, so Abs cannot meet int.MinValue).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Largest(
        Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d,
        Vector128<int> e, Vector128<int> f, Vector128<int> g, Vector128<int> h) =>
        Vector128.Max(
            Vector128.Max(Vector128.Max(Vector128.Abs(a), Vector128.Abs(b)), Vector128.Max(Vector128.Abs(c), Vector128.Abs(d))),
            Vector128.Max(Vector128.Max(Vector128.Abs(e), Vector128.Abs(f)), Vector128.Max(Vector128.Abs(g), Vector128.Abs(h))));

    /// <summary>Pass 1's descale: drop all but <see cref="Pass1Bits"/> of the fraction (the rounding is already in).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DescalePass1(
        ref Vector128<int> v0, ref Vector128<int> v1, ref Vector128<int> v2, ref Vector128<int> v3,
        ref Vector128<int> v4, ref Vector128<int> v5, ref Vector128<int> v6, ref Vector128<int> v7)
    {
        v0 = Vector128.ShiftRightArithmetic(v0, ConstBits - Pass1Bits);
        v1 = Vector128.ShiftRightArithmetic(v1, ConstBits - Pass1Bits);
        v2 = Vector128.ShiftRightArithmetic(v2, ConstBits - Pass1Bits);
        v3 = Vector128.ShiftRightArithmetic(v3, ConstBits - Pass1Bits);
        v4 = Vector128.ShiftRightArithmetic(v4, ConstBits - Pass1Bits);
        v5 = Vector128.ShiftRightArithmetic(v5, ConstBits - Pass1Bits);
        v6 = Vector128.ShiftRightArithmetic(v6, ConstBits - Pass1Bits);
        v7 = Vector128.ShiftRightArithmetic(v7, ConstBits - Pass1Bits);
    }

    /// <summary>
    /// Range-limits and stores four rows given column by column (<paramref name="c0"/>..<paramref name="c7"/> are
    /// columns 0-7, lane r = row r): the same range limit as <see cref="Store"/>, then narrowing packs the 4×8 block
    /// column-major (byte 4k + r) and one byte shuffle per half gathers each row's samples into its 8-byte slot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFourRows(
        Vector128<int> c0, Vector128<int> c1, Vector128<int> c2, Vector128<int> c3,
        Vector128<int> c4, Vector128<int> c5, Vector128<int> c6, Vector128<int> c7, ref byte dst, int stride)
    {
        var centre = Vector128.Create(128);
        c0 = Vector128.ShiftRightArithmetic(c0 << 4, 22) + centre;
        c1 = Vector128.ShiftRightArithmetic(c1 << 4, 22) + centre;
        c2 = Vector128.ShiftRightArithmetic(c2 << 4, 22) + centre;
        c3 = Vector128.ShiftRightArithmetic(c3 << 4, 22) + centre;
        c4 = Vector128.ShiftRightArithmetic(c4 << 4, 22) + centre;
        c5 = Vector128.ShiftRightArithmetic(c5 << 4, 22) + centre;
        c6 = Vector128.ShiftRightArithmetic(c6 << 4, 22) + centre;
        c7 = Vector128.ShiftRightArithmetic(c7 << 4, 22) + centre;

        // -384..639 fits a short; then clamp to 0..255 as bytes.
        var left = Vector128.NarrowWithSaturation(ClampToByte(Vector128.NarrowWithSaturation(c0, c1)), ClampToByte(Vector128.NarrowWithSaturation(c2, c3)));
        var right = Vector128.NarrowWithSaturation(ClampToByte(Vector128.NarrowWithSaturation(c4, c5)), ClampToByte(Vector128.NarrowWithSaturation(c6, c7)));

        // Indices past 15 select zero, so OR joins columns 0-3 (from left) and 4-7 (from right) of each row.
        var rows01 = Vector128.Shuffle(left, Vector128.Create((byte)0, 4, 8, 12, 255, 255, 255, 255, 1, 5, 9, 13, 255, 255, 255, 255))
            | Vector128.Shuffle(right, Vector128.Create((byte)255, 255, 255, 255, 0, 4, 8, 12, 255, 255, 255, 255, 1, 5, 9, 13));
        var rows23 = Vector128.Shuffle(left, Vector128.Create((byte)2, 6, 10, 14, 255, 255, 255, 255, 3, 7, 11, 15, 255, 255, 255, 255))
            | Vector128.Shuffle(right, Vector128.Create((byte)255, 255, 255, 255, 2, 6, 10, 14, 255, 255, 255, 255, 3, 7, 11, 15));
        Unsafe.WriteUnaligned(ref dst, rows01.AsUInt64().GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, stride), rows01.AsUInt64().GetElement(1));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 2 * stride), rows23.AsUInt64().GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, 3 * stride), rows23.AsUInt64().GetElement(1));
    }

    /// <summary>Signed 16-bit samples to 0..255, as unsigned so the next narrowing saturates at 255 (portable for SSE's packuswb and NEON's uqxtn).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> ClampToByte(Vector128<short> v) => Vector128.Max(v, Vector128<short>.Zero).AsUInt16();

    /// <summary>
    /// Transposes a 4×4 block of ints in place. The portable API has no two-vector shuffle (unpack, zip), so each
    /// stage swaps neighbours with one-vector shuffles and merges with lane selects (NEON bsl, SSE/AVX blends).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector128<int> a, ref Vector128<int> b, ref Vector128<int> c, ref Vector128<int> d)
    {
        var even = Vector128.Create(-1, 0, -1, 0);
        var low = Vector128.Create(-1, -1, 0, 0);
        var swapPairs = Vector128.Create(1, 0, 3, 2);
        var swapHalves = Vector128.Create(2, 3, 0, 1);
        var p = Vector128.ConditionalSelect(even, a, Vector128.Shuffle(b, swapPairs)); // a0 b0 a2 b2
        var q = Vector128.ConditionalSelect(even, Vector128.Shuffle(a, swapPairs), b); // a1 b1 a3 b3
        var r = Vector128.ConditionalSelect(even, c, Vector128.Shuffle(d, swapPairs)); // c0 d0 c2 d2
        var s = Vector128.ConditionalSelect(even, Vector128.Shuffle(c, swapPairs), d); // c1 d1 c3 d3
        a = Vector128.ConditionalSelect(low, p, Vector128.Shuffle(r, swapHalves)); // a0 b0 c0 d0
        b = Vector128.ConditionalSelect(low, q, Vector128.Shuffle(s, swapHalves)); // a1 b1 c1 d1
        c = Vector128.ConditionalSelect(low, Vector128.Shuffle(p, swapHalves), r); // a2 b2 c2 d2
        d = Vector128.ConditionalSelect(low, Vector128.Shuffle(q, swapHalves), s); // a3 b3 c3 d3
    }

    /// <summary>
    /// <see cref="Butterfly(ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, ref Vector256{int}, int)"/>
    /// on 128-bit vectors (the portable API has no width-generic vector type to share one body).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Butterfly(
        ref Vector128<int> i0, ref Vector128<int> i1, ref Vector128<int> i2, ref Vector128<int> i3,
        ref Vector128<int> i4, ref Vector128<int> i5, ref Vector128<int> i6, ref Vector128<int> i7, int round)
    {
        var z1 = (i2 + i6) * Vector128.Create(Fix0541196100);
        var tmp2 = z1 + (i6 * Vector128.Create(-Fix1847759065));
        var tmp3 = z1 + (i2 * Vector128.Create(Fix0765366865));
        var tmp0 = ((i0 + i4) << ConstBits) + Vector128.Create(round);
        var tmp1 = ((i0 - i4) << ConstBits) + Vector128.Create(round);
        var tmp10 = tmp0 + tmp3;
        var tmp13 = tmp0 - tmp3;
        var tmp11 = tmp1 + tmp2;
        var tmp12 = tmp1 - tmp2;

        var t0 = i7;
        var t1 = i5;
        var t2 = i3;
        var t3 = i1;
        var z1o = t0 + t3;
        var z2 = t1 + t2;
        var z3 = t0 + t2;
        var z4 = t1 + t3;
        var z5 = (z3 + z4) * Vector128.Create(Fix1175875602);
        t0 *= Vector128.Create(Fix0298631336);
        t1 *= Vector128.Create(Fix2053119869);
        t2 *= Vector128.Create(Fix3072711026);
        t3 *= Vector128.Create(Fix1501321110);
        z1o *= Vector128.Create(-Fix0899976223);
        z2 *= Vector128.Create(-Fix2562915447);
        z3 = (z3 * Vector128.Create(-Fix1961570560)) + z5;
        z4 = (z4 * Vector128.Create(-Fix0390180644)) + z5;
        t0 += z1o + z3;
        t1 += z2 + z4;
        t2 += z2 + z3;
        t3 += z1o + z4;

        i0 = tmp10 + t3;
        i7 = tmp10 - t3;
        i1 = tmp11 + t2;
        i6 = tmp11 - t2;
        i2 = tmp12 + t1;
        i5 = tmp12 - t1;
        i3 = tmp13 + t0;
        i4 = tmp13 - t0;
    }

    /// <summary>The 128-bit butterfly with inputs 4-7 zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ButterflyLow(
        Vector128<int> i0, Vector128<int> i1, Vector128<int> i2, Vector128<int> i3, int round,
        out Vector128<int> o0, out Vector128<int> o1, out Vector128<int> o2, out Vector128<int> o3,
        out Vector128<int> o4, out Vector128<int> o5, out Vector128<int> o6, out Vector128<int> o7)
    {
        var z1 = i2 * Vector128.Create(Fix0541196100);
        var tmp2 = z1;
        var tmp3 = z1 + (i2 * Vector128.Create(Fix0765366865));
        var tmp0 = (i0 << ConstBits) + Vector128.Create(round);
        var tmp10 = tmp0 + tmp3;
        var tmp13 = tmp0 - tmp3;
        var tmp11 = tmp0 + tmp2;
        var tmp12 = tmp0 - tmp2;

        var z5 = (i3 + i1) * Vector128.Create(Fix1175875602);
        var t2 = i3 * Vector128.Create(Fix3072711026);
        var t3 = i1 * Vector128.Create(Fix1501321110);
        var z1o = i1 * Vector128.Create(-Fix0899976223);
        var z2 = i3 * Vector128.Create(-Fix2562915447);
        var z3 = (i3 * Vector128.Create(-Fix1961570560)) + z5;
        var z4 = (i1 * Vector128.Create(-Fix0390180644)) + z5;
        var t0 = z1o + z3;
        var t1 = z2 + z4;
        t2 += z2 + z3;
        t3 += z1o + z4;

        o0 = tmp10 + t3;
        o7 = tmp10 - t3;
        o1 = tmp11 + t2;
        o6 = tmp11 - t2;
        o2 = tmp12 + t1;
        o5 = tmp12 - t1;
        o3 = tmp13 + t0;
        o4 = tmp13 - t0;
    }
}
