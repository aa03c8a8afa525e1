namespace Histoscale.Slides.Tests.Codecs;

/// <summary>The Huffman side of <see cref="TestJpegEncoder"/>: per-image tables, code assignment, bit output.</summary>
internal static class HuffmanCoding
{
    /// <summary>
    /// Code lengths from symbol counts (JPEG Annex K.2): Huffman's merging with one reserved extra symbol so no
    /// code is all ones, then lengths over 16 folded back, the reserved code dropped.
    /// </summary>
    public static (byte[] Bits, byte[] Values) OptimalTable(long[] counts)
    {
        var freq = counts.ToArray();
        freq[256] = 1;
        var codeSize = new int[257];
        var others = Enumerable.Repeat(-1, 257).ToArray();
        while (true)
        {
            int c1 = -1, c2 = -1;
            for (var i = 0; i <= 256; i++)
            {
                if (freq[i] > 0 && (c1 < 0 || freq[i] <= freq[c1]))
                {
                    c1 = i;
                }
            }
            for (var i = 0; i <= 256; i++)
            {
                if (freq[i] > 0 && i != c1 && (c2 < 0 || freq[i] <= freq[c2]))
                {
                    c2 = i;
                }
            }
            if (c2 < 0)
            {
                break;
            }
            freq[c1] += freq[c2];
            freq[c2] = 0;
            codeSize[c1]++;
            while (others[c1] >= 0)
            {
                c1 = others[c1];
                codeSize[c1]++;
            }
            others[c1] = c2;
            codeSize[c2]++;
            while (others[c2] >= 0)
            {
                c2 = others[c2];
                codeSize[c2]++;
            }
        }
        var bits = new int[33];
        for (var i = 0; i <= 256; i++)
        {
            if (codeSize[i] > 0)
            {
                bits[codeSize[i]]++;
            }
        }
        for (var i = 32; i > 16; i--)
        {
            while (bits[i] > 0)
            {
                var j = i - 2;
                while (bits[j] == 0)
                {
                    j--;
                }
                bits[i] -= 2;
                bits[i - 1]++;
                bits[j + 1] += 2;
                bits[j]--;
            }
        }
        var longest = 16;
        while (bits[longest] == 0)
        {
            longest--;
        }
        bits[longest]--;
        var values = new List<byte>();
        for (var len = 1; len <= 32; len++)
        {
            for (var sym = 0; sym < 256; sym++)
            {
                if (codeSize[sym] == len)
                {
                    values.Add((byte)sym);
                }
            }
        }
        return ([.. bits.Skip(1).Take(16).Select(b => (byte)b)], [.. values]);
    }

    public static (int Code, int Length)[] CodeTable(byte[] bits, byte[] values)
    {
        var table = new (int, int)[256];
        int code = 0, k = 0;
        for (var len = 1; len <= 16; len++)
        {
            for (var i = 0; i < bits[len - 1]; i++)
            {
                table[values[k++]] = (code++, len);
            }
            code <<= 1;
        }
        return table;
    }

    public sealed class BitWriter(List<byte> output)
    {
        private int buffer;
        private int count;

        public void Write(int bits, int length)
        {
            for (var i = length - 1; i >= 0; i--)
            {
                buffer = (buffer << 1) | ((bits >> i) & 1);
                if (++count == 8)
                {
                    Emit();
                }
            }
        }

        /// <summary>Pads the last byte with ones, as the standard asks before a marker.</summary>
        public void Flush()
        {
            while (count != 0)
            {
                Write(1, 1);
            }
        }

        private void Emit()
        {
            output.Add((byte)buffer);
            if (buffer == 0xFF)
            {
                output.Add(0);
            }
            buffer = 0;
            count = 0;
        }
    }
}
