using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// libjpeg's "fancy" (triangle-filter) chroma upsampling, bit-exact with jdsample.c: each output sample is 3/4 of
/// the nearer input and 1/4 of the further one, horizontally (h2v1) or in both directions (h2v2), with libjpeg's
/// alternating rounding biases (1 and 2; 8 and 7). Edge columns replicate the last real sample (libjpeg's
/// special-cased first and last columns compute exactly that) and edge rows the first or last real row (as
/// libjpeg's context-row pointers do).
/// </summary>
internal static class Upsampler
{
    /// <summary>
    /// One output row from one input row (h2v1), or from the nearer and further input rows (h2v2). Writes
    /// 2 × width samples to <paramref name="output"/> (plus up to 32 bytes of slack); <paramref name="sums"/>
    /// needs width + 34 entries, both inputs width + 16 readable bytes. <paramref name="path"/> is a resolved
    /// <see cref="JpegSimd"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(ReadOnlySpan<byte> near, ReadOnlySpan<byte> far, bool vertical, int width, Span<short> sums, Span<byte> output, JpegSimd path)
    {
        if (width < 1 || near.Length < width + 16 || far.Length < width + 16 || sums.Length < width + 34 || output.Length < (2 * width) + 32)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "row buffers too small");
        }
        // sums[i + 1] = the vertically filtered input column i; sums[0] and sums[width + 1] replicate the edges.
        var i = 0;
        var avx2 = Avx2.IsSupported && path == JpegSimd.Avx2;
        if (avx2)
        {
            ref var n0 = ref MemoryMarshal.GetReference(near);
            ref var f0 = ref MemoryMarshal.GetReference(far);
            ref var s0 = ref MemoryMarshal.GetReference(sums);
            var three = Vector256.Create((short)3);
            for (; i < width; i += 16)
            {
                var n = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref n0, (nuint)i));
                var s = vertical ? (n * three) + Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref f0, (nuint)i)) : n;
                s.StoreUnsafe(ref s0, (nuint)i + 1);
            }
        }
        else if (path == JpegSimd.Vector128)
        {
            ref var n0 = ref MemoryMarshal.GetReference(near);
            ref var f0 = ref MemoryMarshal.GetReference(far);
            ref var s0 = ref MemoryMarshal.GetReference(sums);
            var three = Vector128.Create((ushort)3);
            for (; i < width; i += 16)
            {
                var (nLow, nHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref n0, (nuint)i));
                if (vertical)
                {
                    var (fLow, fHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref f0, (nuint)i));
                    nLow = (nLow * three) + fLow;
                    nHigh = (nHigh * three) + fHigh;
                }
                nLow.AsInt16().StoreUnsafe(ref s0, (nuint)i + 1);
                nHigh.AsInt16().StoreUnsafe(ref s0, (nuint)i + 9);
            }
        }
        else
        {
            for (; i < width; i++)
            {
                sums[i + 1] = (short)(vertical ? (near[i] * 3) + far[i] : near[i]);
            }
        }
        sums[0] = sums[1];
        sums[width + 1] = sums[width];

        int evenBias = vertical ? 8 : 1, oddBias = vertical ? 7 : 2, shift = vertical ? 4 : 2;
        i = 0;
        if (avx2)
        {
            ref var s0 = ref MemoryMarshal.GetReference(sums);
            ref var o0 = ref MemoryMarshal.GetReference(output);
            var three = Vector256.Create((short)3);
            var be = Vector256.Create((short)evenBias);
            var bo = Vector256.Create((short)oddBias);
            for (; i < width; i += 16)
            {
                var left = Vector256.LoadUnsafe(ref s0, (nuint)i);
                var mid = Vector256.LoadUnsafe(ref s0, (nuint)i + 1) * three;
                var right = Vector256.LoadUnsafe(ref s0, (nuint)i + 2);
                var even = Vector256.ShiftRightLogical(mid + left + be, shift);
                var odd = Vector256.ShiftRightLogical(mid + right + bo, shift);
                // Interleaving within 128-bit lanes and then packing lanes lo/hi leaves the 32 bytes in order.
                var packed = Avx2.PackUnsignedSaturate(Avx2.UnpackLow(even, odd), Avx2.UnpackHigh(even, odd));
                packed.StoreUnsafe(ref o0, (nuint)(2 * i));
            }
        }
        else if (path == JpegSimd.Vector128)
        {
            ref var s0 = ref MemoryMarshal.GetReference(sums);
            ref var o0 = ref MemoryMarshal.GetReference(output);
            var three = Vector128.Create((ushort)3);
            var be = Vector128.Create((ushort)evenBias);
            var bo = Vector128.Create((ushort)oddBias);
            for (; i < width; i += 8)
            {
                var left = Vector128.LoadUnsafe(ref s0, (nuint)i).AsUInt16();
                var mid = Vector128.LoadUnsafe(ref s0, (nuint)i + 1).AsUInt16() * three;
                var right = Vector128.LoadUnsafe(ref s0, (nuint)i + 2).AsUInt16();
                var even = Vector128.ShiftRightLogical(mid + left + be, shift);
                var odd = Vector128.ShiftRightLogical(mid + right + bo, shift);
                // Both are 0..255, so one 16-bit lane holds an even and an odd sample, and little-endian byte order
                // (x64 and arm64 alike) stores them in output order: an interleave without a two-vector shuffle.
                (even | (odd << 8)).AsByte().StoreUnsafe(ref o0, (nuint)(2 * i));
            }
        }
        else
        {
            for (; i < width; i++)
            {
                var mid = sums[i + 1] * 3;
                output[2 * i] = (byte)((mid + sums[i] + evenBias) >> shift);
                output[(2 * i) + 1] = (byte)((mid + sums[i + 2] + oddBias) >> shift);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NeighbourRow(int outputRow, int height)
    {
        // Output row 2j takes input row j and the one above; 2j+1 the one below; edges replicate.
        var near = outputRow >> 1;
        var far = (outputRow & 1) == 0 ? near - 1 : near + 1;
        return Math.Clamp(far, 0, height - 1);
    }
}
