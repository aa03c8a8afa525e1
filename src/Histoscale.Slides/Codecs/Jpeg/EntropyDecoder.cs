using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Huffman-coded scan data: a 64-bit, most-significant-first bit buffer refilled up to seven bytes at a time
/// (one unaligned load when the next eight bytes hold no 0xFF; byte by byte with 0xFF00 unstuffing otherwise).
/// Like libjpeg, reading stops at a marker and supplies zero bits from there on; unlike libjpeg we count those
/// padding bits, and a caller that finds any of them consumed reports the data as corrupt
/// (<see cref="PaddingConsumed"/>), where libjpeg-turbo warns of a premature end (a warning the codec treats as an
/// error). Running off the end of the data without meeting a marker counts as consuming padding too: libjpeg,
/// fed a memory buffer by ImageMagick, asks for more input there and warns of a premature end, even when (no
/// EOI) every coded bit was present.
/// </summary>
internal ref struct EntropyDecoder
{
    private const int NoMarker = -1;

    /// <summary>Whole bytes libjpeg-turbo's 64-bit bit buffer can hold unread when a segment ends.</summary>
    private const int LibjpegReadAhead = 8;

    /// <summary>A run of 0xFF at the very end of the data: not a restart marker, but reading stops there.</summary>
    private const int EndOfData = 0x100;

    private readonly ReadOnlySpan<byte> data;
    private ulong buffer;
    private int bits;
    private int position;
    private int padding;
    private int marker;
    private int markerEnd;
    private bool ranOffEnd;

    public EntropyDecoder(ReadOnlySpan<byte> data, int start)
    {
        this.data = data;
        position = start;
        marker = NoMarker;
    }

    /// <summary>True when decoding used zero bits supplied past a marker, or read to the end of the data: cut short or corrupt.</summary>
    public readonly bool PaddingConsumed => bits < padding || ranOffEnd;

    /// <summary>
    /// Decodes one block's coefficients into <paramref name="block"/> (natural order, all zero on entry) and adds
    /// the DC difference to <paramref name="predictor"/>. Returns the zig-zag position after the last coded
    /// coefficient (1: only a DC term; at most 10: all within the top-left 4×4), or -1 for a bit pattern no code
    /// matches (corrupt data: libjpeg warns "bad Huffman code").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int DecodeBlock(HuffmanTable dcTable, HuffmanTable acTable, ref int predictor, Span<short> block)
    {
        if (block.Length < 64)
        {
            throw new ArgumentException("block must hold 64 coefficients", nameof(block));
        }
        // The bit buffer lives in locals (registers) through the block: nothing here takes their address, and
        // the rare slow paths are handed the buffer through the fields.
        var buf = buffer;
        var n = bits;
        if (n < 32)
        {
            Refill(ref buf, ref n);
        }

        // Indices into the lookup tables are the top FastBits bits of the buffer, so always < FastSize, the
        // tables' length; natural-order indices come from a table whose entries are all < 64.
        ref var block0 = ref MemoryMarshal.GetReference(block);
        var e = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dcTable.Fast), (int)(buf >> (64 - HuffmanTable.FastBits)));
        int diff;
        if (e != 0)
        {
            var used = e & 0xFF;
            buf <<= used;
            n -= used;
            diff = e >> 16;
        }
        else
        {
            var decoded = DecodeSymbol(dcTable, buf);
            if (decoded < 0)
            {
                return -1;
            }
            var len = decoded >> 8;
            buf <<= len;
            n -= len;
            var size = decoded & 0xFF;
            diff = 0;
            if (size != 0)
            {
                diff = HuffmanTable.Extend((int)(buf >> (64 - size)), size);
                buf <<= size;
                n -= size;
            }
        }
        predictor += diff;
        block0 = (short)predictor; // libjpeg keeps the predictor as an int and stores a JCOEF (16-bit) truncation

        ref var acFast = ref MemoryMarshal.GetArrayDataReference(acTable.Fast);
        ref var natural = ref MemoryMarshal.GetReference(ZigZag.NaturalOrder);
        var k = 1;
        while (k < 64)
        {
            if (n < 32)
            {
                Refill(ref buf, ref n);
            }
            e = Unsafe.Add(ref acFast, (int)(buf >> (64 - HuffmanTable.FastBits)));
            if (e != 0)
            {
                var used = e & 0xFF;
                buf <<= used;
                n -= used;
                k += (e >> 8) & 0xFF; // k < 64 and run <= 15: k <= 78, inside the 80-entry order table
                Unsafe.Add(ref block0, Unsafe.Add(ref natural, k)) = (short)(e >> 16);
                k++;
                continue;
            }
            var decoded = DecodeSymbol(acTable, buf);
            if (decoded < 0)
            {
                return -1;
            }
            var len = decoded >> 8;
            buf <<= len;
            n -= len;
            var run = (decoded >> 4) & 15;
            var s = decoded & 15;
            if (s != 0)
            {
                k += run;
                var value = HuffmanTable.Extend((int)(buf >> (64 - s)), s);
                buf <<= s;
                n -= s;
                Unsafe.Add(ref block0, Unsafe.Add(ref natural, k)) = (short)value;
                k++;
            }
            else if (run == 15)
            {
                k += 16;
            }
            else
            {
                break; // end of block (libjpeg treats every size-0 symbol but ZRL so)
            }
        }
        buffer = buf;
        bits = n;
        return k;
    }

    /// <summary>
    /// At a restart boundary: discards the partial byte, expects marker RST<paramref name="expected"/> right after
    /// it and resets the bit buffer. <see cref="SegmentEnd.Corrupt"/> with the <paramref name="cause"/> for what
    /// libjpeg warns of (premature end, extraneous bytes before the marker, a marker other than the one due); the
    /// codec treats libjpeg's warnings as errors, so the outcome is the same whoever decodes.
    /// </summary>
    public SegmentEnd Restart(int expected, out string? cause)
    {
        var end = Check(out var found, out var after, out cause);
        if (end != SegmentEnd.Clean)
        {
            return end;
        }
        if (found != 0xD0 + expected)
        {
            cause = $"found marker 0x{found:x2} instead of RST{expected}";
            return SegmentEnd.Corrupt;
        }
        position = after;
        buffer = 0;
        bits = 0;
        padding = 0;
        marker = NoMarker;
        return SegmentEnd.Clean;
    }

    /// <summary>After the last MCU: how the scan ends, and the marker that ends it when clean.</summary>
    public readonly SegmentEnd Finish(out int nextMarker, out string? cause) => Check(out nextMarker, out _, out cause);

    /// <summary>
    /// Whether the segment ends with at most the encoder's bit padding before a marker. A few unused bytes are
    /// libjpeg's call: it warns of extraneous bytes only when it has not already read them into its bit buffer
    /// (up to 8 bytes ahead), and reports those later or never, so such streams are declined to it. More than
    /// that, libjpeg always warns, and the data is corrupt.
    /// </summary>
    private readonly SegmentEnd Check(out int found, out int after, out string? cause)
    {
        if (PaddingConsumed)
        {
            (found, after, cause) = (NoMarker, 0, "premature end of data segment");
            return SegmentEnd.Corrupt;
        }
        if (!FindMarker(out found, out after, out var discarded))
        {
            cause = "premature end of JPEG file: the data ends before the next marker";
            return SegmentEnd.Corrupt;
        }
        cause = discarded > LibjpegReadAhead ? $"{discarded} extraneous bytes before marker 0x{found:x2}" : null;
        return discarded == 0 ? SegmentEnd.Clean : cause is null ? SegmentEnd.Decline : SegmentEnd.Corrupt;
    }

    /// <summary>
    /// The marker that ends the current segment, where its code byte ends, and how many unused data bytes lie
    /// before it (whole bytes left in the bit buffer plus bytes skipped, as libjpeg counts its "discarded bytes";
    /// fill bytes 0xFF are not counted). False when the data ends before any marker.
    /// </summary>
    private readonly bool FindMarker(out int found, out int after, out int discarded)
    {
        // Bits past the padding are zeros we supplied, not data; fewer than eight real ones are the encoder's fill.
        discarded = (bits - (marker != NoMarker ? padding : 0)) >> 3;
        if (marker == EndOfData)
        {
            found = after = 0;
            return false;
        }
        if (marker != NoMarker)
        {
            found = marker;
            after = markerEnd;
            return true;
        }
        var p = position;
        while (true)
        {
            while (p < data.Length && data[p] != 0xFF)
            {
                p++;
                discarded++;
            }
            while (p < data.Length && data[p] == 0xFF)
            {
                p++;
            }
            if (p >= data.Length)
            {
                found = after = 0;
                return false;
            }
            if (data[p] != 0)
            {
                found = data[p];
                after = p + 1;
                return true;
            }
            p++; // a stuffed 0xFF00 among discarded bytes
            discarded += 2;
        }
    }

    /// <summary>Length &lt;&lt; 8 | symbol of the code at the top of <paramref name="buf"/>, or -1 if none matches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecodeSymbol(HuffmanTable table, ulong buf)
    {
        int entry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table.Lookup), (int)(buf >> (64 - HuffmanTable.FastBits)));
        return entry != 0 ? entry : DecodeLongSymbol(table, buf);
    }

    /// <summary>Codes longer than FastBits: libjpeg's walk up the code lengths against maxcode.</summary>
    /// <remarks>Inlined, as is <see cref="RefillBytes"/>: a call inside the coefficient loop makes the JIT keep the bit count and position in memory.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecodeLongSymbol(HuffmanTable table, ulong buf)
    {
        for (var len = HuffmanTable.FastBits + 1; len <= 16; len++)
        {
            var code = (int)(buf >> (64 - len));
            if (code <= table.MaxCode[len])
            {
                return (len << 8) | table.Values[(code + table.ValOffset[len]) & 0xFF];
            }
        }
        return -1;
    }

    /// <summary>Tops the buffer up to at least 57 bits (callers refill below 32: a code of 16 bits plus 15 magnitude bits fits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Refill(ref ulong buf, ref int n)
    {
        var p = position;
        if (p <= data.Length - 8)
        {
            var v = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(data), p)));
            // No byte of v is 0xFF (the classic has-zero-byte test applied to ~v): no stuffing, no marker.
            if (((~v - 0x0101010101010101UL) & v & 0x8080808080808080UL) == 0)
            {
                var take = (63 - n) >> 3;
                buf |= (v >> n) & ~(ulong.MaxValue >> (n + (take << 3)));
                n += take << 3;
                position = p + take;
                return;
            }
        }
        buffer = buf;
        bits = n;
        RefillBytes();
        buf = buffer;
        n = bits;
    }

    /// <summary>Byte-at-a-time refill of the fields' buffer: stuffing, markers, the end of the data.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RefillBytes()
    {
        var buf = buffer;
        var n = bits;
        while (n <= 56)
        {
            if (marker == NoMarker && position >= data.Length)
            {
                ranOffEnd = true;
                marker = EndOfData;
            }
            if (marker != NoMarker)
            {
                n += 8; // zero bits, as libjpeg supplies them
                padding += 8;
                continue;
            }
            int b = data[position];
            if (b != 0xFF)
            {
                buf |= (ulong)b << (56 - n);
                n += 8;
                position++;
                continue;
            }
            // libjpeg: a run of 0xFF followed by 0x00 is one data byte 0xFF; followed by anything else, a marker.
            var q = position + 1;
            while (q < data.Length && data[q] == 0xFF)
            {
                q++;
            }
            if (q >= data.Length)
            {
                ranOffEnd = true;
                marker = EndOfData;
                markerEnd = q;
                continue;
            }
            if (data[q] == 0)
            {
                buf |= 0xFFUL << (56 - n);
                n += 8;
                position = q + 1;
                continue;
            }
            marker = data[q];
            markerEnd = q + 1;
        }
        buffer = buf;
        bits = n;
    }
}

/// <summary>How an entropy-coded segment ends.</summary>
internal enum SegmentEnd
{
    /// <summary>Directly at a marker, after at most the encoder's bit padding.</summary>
    Clean,

    /// <summary>A few stray bytes before the marker: libjpeg decides whether they are worth a warning.</summary>
    Decline,

    /// <summary>Corrupt or truncated data.</summary>
    Corrupt,
}

/// <summary>Zig-zag scan order to natural (row-major) order.</summary>
internal static class ZigZag
{
    /// <summary>
    /// 64 entries plus 16 more of 63: a corrupt run can push the index past 63 before the end-of-block check, and
    /// libjpeg's own table has the same safety margin, so such coefficients land where libjpeg puts them.
    /// </summary>
    public static ReadOnlySpan<byte> NaturalOrder =>
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
        63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
    ];
}
