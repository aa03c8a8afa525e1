using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Pipeline.Preprocessing;

/// <summary>
/// AVX2 fast path of <see cref="TensorPacker"/> for NCHW planes: eight opaque RGBA pixels at a time are split into
/// their R, G, B bytes with one in-lane shuffle and one cross-lane permute, then stored as bytes (UINT8 models) or
/// normalised floats (FP32 models, (v − mean) × (1/std) computed exactly as the scalar table is). Groups holding a
/// translucent pixel (slide edges) are left to the scalar path, which paints them over white.
/// </summary>
internal static class SimdPlanarPacker
{
    private static readonly Vector256<byte> GroupByChannel = Vector256.Create(
        (byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);

    private static readonly Vector256<int> JoinLanes = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);

    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Packs every whole group of 8 opaque pixels; returns how many groups it left, listing their first pixel in <paramref name="skipped"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int PackBytes(byte* src, byte* dst, int plane, int s0, int s1, int s2, Span<int> skipped)
    {
        var count = 0;
        for (var p = 0; p + 8 <= plane; p += 8)
        {
            var q = Split(src + (p * 4));
            if (q.GetElement(3) != ulong.MaxValue)
            {
                skipped[count++] = p;
                continue;
            }
            Unsafe.WriteUnaligned(dst + p, q.GetElement(s0));
            Unsafe.WriteUnaligned(dst + plane + p, q.GetElement(s1));
            Unsafe.WriteUnaligned(dst + (2 * plane) + p, q.GetElement(s2));
        }
        return count;
    }

    /// <summary>As <see cref="PackBytes"/>, into normalised floats: model channel c = (colour s_c − mean_c) × inverse_c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int PackFloats(byte* src, float* dst, int plane, int s0, int s1, int s2, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverse, Span<int> skipped)
    {
        // mean and inverse are per colour (R, G, B); model channel c reads colour s_c.
        var m0 = Vector256.Create(mean[s0]);
        var m1 = Vector256.Create(mean[s1]);
        var m2 = Vector256.Create(mean[s2]);
        var i0 = Vector256.Create(inverse[s0]);
        var i1 = Vector256.Create(inverse[s1]);
        var i2 = Vector256.Create(inverse[s2]);
        var count = 0;
        for (var p = 0; p + 8 <= plane; p += 8)
        {
            var q = Split(src + (p * 4));
            if (q.GetElement(3) != ulong.MaxValue)
            {
                skipped[count++] = p;
                continue;
            }
            Avx.Store(dst + p, Avx.Multiply(Avx.Subtract(Widen(q.GetElement(s0)), m0), i0));
            Avx.Store(dst + plane + p, Avx.Multiply(Avx.Subtract(Widen(q.GetElement(s1)), m1), i1));
            Avx.Store(dst + (2 * plane) + p, Avx.Multiply(Avx.Subtract(Widen(q.GetElement(s2)), m2), i2));
        }
        return count;
    }

    /// <summary>
    /// One colour plane of bytes to normalised floats, (v − mean) × inverse — the scalar table's exact arithmetic
    /// (no fused multiply-add), so SIMD and table agree to the bit. <paramref name="table"/> serves the remainder
    /// and CPUs without AVX2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalise(ReadOnlySpan<byte> source, Span<float> destination, float mean, float inverse, ReadOnlySpan<float> table)
    {
        if (destination.Length < source.Length || table.Length < 256)
        {
            throw new ArgumentException("destination or table too small");
        }
        var i = 0;
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        if (Avx512F.IsSupported)
        {
            var m = Vector512.Create(mean);
            var k = Vector512.Create(inverse);
            for (; i <= source.Length - 16; i += 16)
            {
                var values = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref src, (nuint)i)));
                Avx512F.Multiply(Avx512F.Subtract(values, m), k).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        if (Avx2.IsSupported)
        {
            var m = Vector256.Create(mean);
            var k = Vector256.Create(inverse);
            for (; i <= source.Length - 8; i += 8)
            {
                var values = Widen(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, i)));
                Avx.Multiply(Avx.Subtract(values, m), k).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = table[source[i]];
        }
    }

    /// <summary>8 RGBA pixels → [R0..R7][G0..G7][B0..B7][A0..A7] as four 64-bit values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<ulong> Split(byte* pixels)
    {
        var grouped = Avx2.Shuffle(Avx.LoadVector256(pixels), GroupByChannel);
        return Avx2.PermuteVar8x32(grouped.AsInt32(), JoinLanes).AsUInt64();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen(ulong eightBytes) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(eightBytes).AsByte()));
}
