using System.Runtime.CompilerServices;
namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// One Huffman table in decoding form. Codes of up to <see cref="FastBits"/> bits resolve with one lookup on the
/// next bits of the stream; when the code and its magnitude bits both fit, <see cref="Fast"/> even holds the
/// finished coefficient, so the common case costs one load and one shift. Longer codes walk libjpeg's canonical
/// max-code table.
/// </summary>
internal sealed class HuffmanTable
{
    public const int FastBits = 10;
    public const int FastSize = 1 << FastBits;

    /// <summary>Code length &lt;&lt; 8 | symbol for every code of at most FastBits bits; 0 where a longer code starts.</summary>
    public readonly ushort[] Lookup = new ushort[FastSize];

    /// <summary>
    /// value &lt;&lt; 16 | run &lt;&lt; 8 | bits consumed, for a code whose magnitude bits also fit in FastBits (AC
    /// tables: only symbols with a non-zero size, so end-of-block and zero runs take the general path); else 0.
    /// </summary>
    public readonly int[] Fast = new int[FastSize];

    /// <summary>Largest code of each length (libjpeg's maxcode), -1 where there is none; index 17 is a sentinel.</summary>
    public readonly int[] MaxCode = new int[18];

    /// <summary>Symbol index minus first code, per length (libjpeg's valoffset).</summary>
    public readonly int[] ValOffset = new int[18];

    public readonly byte[] Values = new byte[256];

    /// <summary>Defined by a DHT segment and accepted by the same checks libjpeg-turbo makes.</summary>
    public bool Usable;

    /// <summary>
    /// The definition the tables were last built from: the tiles of a slide share their tables (TIFF
    /// JPEGTables), so a thread's next tile usually finds them built already.
    /// </summary>
    private readonly byte[] builtFrom = new byte[16 + 256];
    private int builtLength;
    private bool builtAsDc;

    /// <summary>Builds the table from a DHT definition; false where libjpeg-turbo would reject the table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Build(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols, bool isDc)
    {
        var total = 0;
        foreach (var n in counts[..16])
        {
            total += n;
        }
        if (total <= symbols.Length && builtLength == 16 + total && builtAsDc == isDc
            && counts[..16].SequenceEqual(builtFrom.AsSpan(0, 16)) && symbols[..total].SequenceEqual(builtFrom.AsSpan(16, total)))
        {
            Usable = true;
            return true;
        }
        Usable = false;
        builtLength = 0;
        Span<byte> sizes = stackalloc byte[257];
        Span<int> codes = stackalloc int[256];
        var p = 0;
        for (var l = 1; l <= 16; l++)
        {
            int n = counts[l - 1];
            if (p + n > 256)
            {
                return false;
            }
            for (var i = 0; i < n; i++)
            {
                sizes[p++] = (byte)l;
            }
        }
        var count = p;
        sizes[count] = 0;
        if (symbols.Length < count)
        {
            return false;
        }

        // Canonical code assignment (JPEG Annex C); a length group that overflows its bits is a corrupt table.
        var code = 0;
        int si = sizes[0];
        p = 0;
        while (sizes[p] != 0)
        {
            while (sizes[p] == si)
            {
                codes[p++] = code++;
            }
            if (code >= 1 << si)
            {
                return false;
            }
            code <<= 1;
            si++;
        }

        p = 0;
        for (var l = 1; l <= 16; l++)
        {
            int n = counts[l - 1];
            if (n != 0)
            {
                ValOffset[l] = p - codes[p];
                p += n;
                MaxCode[l] = codes[p - 1];
            }
            else
            {
                MaxCode[l] = -1;
            }
        }
        MaxCode[17] = 0xFFFFF;
        MaxCode[0] = -1;

        symbols[..count].CopyTo(Values);
        Values.AsSpan(count).Clear();
        if (isDc)
        {
            // libjpeg-turbo refuses DC tables with magnitude categories above 15.
            foreach (var s in symbols[..count])
            {
                if (s > 15)
                {
                    return false;
                }
            }
        }

        Array.Clear(Lookup);
        Array.Clear(Fast);
        for (var i = 0; i < count; i++)
        {
            int len = sizes[i];
            if (len > FastBits)
            {
                break;
            }
            var symbol = Values[i];
            var run = isDc ? 0 : symbol >> 4;
            var size = isDc ? symbol : symbol & 15;
            var first = codes[i] << (FastBits - len);
            var fill = 1 << (FastBits - len);
            for (var j = 0; j < fill; j++)
            {
                var index = first | j;
                Lookup[index] = (ushort)((len << 8) | symbol);
                if ((isDc || size != 0) && len + size <= FastBits)
                {
                    var value = 0;
                    if (size != 0)
                    {
                        var extra = (index >> (FastBits - len - size)) & ((1 << size) - 1);
                        value = Extend(extra, size);
                    }
                    Fast[index] = (value << 16) | (run << 8) | (len + size);
                }
            }
        }
        counts[..16].CopyTo(builtFrom);
        symbols[..count].CopyTo(builtFrom.AsSpan(16));
        builtLength = 16 + count;
        builtAsDc = isDc;
        Usable = true;
        return true;
    }

    /// <summary>JPEG's magnitude-category decoding (libjpeg's HUFF_EXTEND): the top half is positive, the bottom negative.</summary>
    public static int Extend(int bits, int size) => bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits;
}
