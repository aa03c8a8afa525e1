namespace Histoscale.Slides.Codecs;

/// <summary>TIFF LZW (MSB-first codes, 9–12 bits, "early change" width switch, Clear 256, EOI 257).</summary>
internal static class LzwDecoder
{
    private const int Clear = 256;
    private const int EndOfInformation = 257;
    private const int MaxCodes = 4096;

    /// <summary>Decodes into output; returns bytes written. Stops at EOI, end of input, or a full output.</summary>
    public static int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        // Each code is stored as (prefix code, last byte, length); strings are written back-to-front.
        Span<short> prefix = stackalloc short[MaxCodes];
        Span<byte> suffix = stackalloc byte[MaxCodes];
        Span<short> length = stackalloc short[MaxCodes];
        Span<byte> first = stackalloc byte[MaxCodes];
        for (var i = 0; i < 256; i++)
        {
            prefix[i] = -1;
            suffix[i] = (byte)i;
            first[i] = (byte)i;
            length[i] = 1;
        }
        var next = 258;
        var width = 9;
        var bitBuffer = 0u;
        var bitCount = 0;
        var inPos = 0;
        var outPos = 0;
        var previous = -1;
        while (true)
        {
            while (bitCount < width)
            {
                if (inPos >= input.Length)
                {
                    return outPos;
                }
                bitBuffer = (bitBuffer << 8) | input[inPos++];
                bitCount += 8;
            }
            var code = (int)((bitBuffer >> (bitCount - width)) & ((1u << width) - 1));
            bitCount -= width;
            if (code == EndOfInformation)
            {
                return outPos;
            }
            if (code == Clear)
            {
                next = 258;
                width = 9;
                previous = -1;
                continue;
            }
            int emitted;
            if (previous < 0)
            {
                if (code > 255)
                {
                    throw new CodecException($"LZW: first code {code} after a clear is not a literal");
                }
                emitted = code;
            }
            else if (code < next)
            {
                emitted = code;
                if (next < MaxCodes)
                {
                    Add(ref next, previous, first[code], prefix, suffix, length, first);
                }
            }
            else if (code == next && next < MaxCodes)
            {
                Add(ref next, previous, first[previous], prefix, suffix, length, first);
                emitted = code;
            }
            else
            {
                throw new CodecException($"LZW: code {code} out of range (next is {next})");
            }
            var len = length[emitted];
            if (outPos + len > output.Length)
            {
                // Libtiff tolerates overlong strips; keep what fits and stop.
                var c = emitted;
                for (var k = len - 1; k >= 0; k--)
                {
                    if (outPos + k < output.Length)
                    {
                        output[outPos + k] = suffix[c];
                    }
                    c = prefix[c];
                }
                return output.Length;
            }
            var cur = emitted;
            for (var k = len - 1; k >= 0; k--)
            {
                output[outPos + k] = suffix[cur];
                cur = prefix[cur];
            }
            outPos += len;
            previous = emitted;
            // TIFF's "early change": the width grows one code before the table would need it
            if (next + 1 >= (1 << width) && width < 12)
            {
                width++;
            }
        }
    }

    private static void Add(ref int next, int previous, byte firstByte, Span<short> prefix, Span<byte> suffix, Span<short> length, Span<byte> first)
    {
        prefix[next] = (short)previous;
        suffix[next] = firstByte;
        length[next] = (short)(length[previous] + 1);
        first[next] = first[previous];
        next++;
    }
}
