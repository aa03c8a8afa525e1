using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>
/// TIFF LZW encoder (TIFF 6.0 section 13): MSB-first codes of 9 to 12 bits, Clear = 256, EOI = 257, and the
/// "early change" code widths that libtiff's decoder expects. Each call is an independent stream (one tile or
/// strip). The string table is an open-addressed hash stamped with a generation, so a Clear costs nothing.
/// </summary>
internal sealed class TiffLzwEncoder
{
    private const int Clear = 256;
    private const int EndOfInformation = 257;
    private const int FirstCode = 258;
    private const int MaxCode = 4095;
    private const int HashBits = 13; // 8192 slots for at most 3838 live strings: load factor under 0.5
    private const int HashSize = 1 << HashBits;

    private readonly int[] _keys = new int[HashSize];
    private readonly short[] _codes = new short[HashSize];
    private readonly int[] _stamps = new int[HashSize];
    private int _generation;

    [ThreadStatic]
    private static TiffLzwEncoder? s_perThread;

    /// <summary>One encoder per thread: the tables are reused across tiles without locking.</summary>
    public static TiffLzwEncoder ForCurrentThread => s_perThread ??= new TiffLzwEncoder();

    public EncodedChunk Encode(ReadOnlySpan<byte> input)
    {
        var output = new ChunkBuilder((input.Length / 2) + 64);
        var bits = new BitWriter(output);
        var nbits = 9;
        var maxcode = (1 << nbits) - 1;
        var free = FirstCode;
        bits.Put(Clear, nbits);
        if (input.IsEmpty)
        {
            bits.Put(EndOfInformation, nbits);
            bits.Flush();
            return output.ToChunk();
        }
        NewTable();
        int ent = input[0];
        for (var i = 1; i < input.Length; i++)
        {
            int c = input[i];
            var key = (ent << 8) | c;
            var slot = Find(key, out var found);
            if (found)
            {
                ent = _codes[slot];
                continue;
            }
            bits.Put(ent, nbits);
            ent = c;
            _keys[slot] = key;
            _codes[slot] = (short)free;
            _stamps[slot] = _generation;
            free++;
            if (free == MaxCode - 1)
            {
                // Table full: libtiff emits Clear at the current width and starts over at 9 bits.
                bits.Put(Clear, nbits);
                NewTable();
                nbits = 9;
                maxcode = (1 << nbits) - 1;
                free = FirstCode;
            }
            else if (free > maxcode)
            {
                nbits++;
                maxcode = (1 << nbits) - 1;
            }
        }
        bits.Put(ent, nbits);
        // The decoder adds one more string after this code; EOI must be written at the width it will then expect.
        free++;
        if (free == MaxCode - 1)
        {
            bits.Put(Clear, nbits);
            nbits = 9;
        }
        else if (free > maxcode)
        {
            nbits++;
        }
        bits.Put(EndOfInformation, nbits);
        bits.Flush();
        return output.ToChunk();
    }

    private void NewTable()
    {
        _generation++;
        if (_generation == int.MaxValue)
        {
            Array.Clear(_stamps);
            _generation = 1;
        }
    }

    private int Find(int key, out bool found)
    {
        var slot = (int)(((uint)key * 2654435761u) >> (32 - HashBits));
        while (true)
        {
            if (_stamps[slot] != _generation)
            {
                found = false;
                return slot;
            }
            if (_keys[slot] == key)
            {
                found = true;
                return slot;
            }
            slot = (slot + 1) & (HashSize - 1);
        }
    }

    /// <summary>MSB-first bit packer.</summary>
    private ref struct BitWriter(ChunkBuilder output)
    {
        private ulong _acc;
        private int _count;

        public void Put(int code, int width)
        {
            _acc = (_acc << width) | (uint)code;
            _count += width;
            while (_count >= 8)
            {
                _count -= 8;
                output.WriteByte((byte)(_acc >> _count));
            }
        }

        public void Flush()
        {
            if (_count > 0)
            {
                output.WriteByte((byte)(_acc << (8 - _count)));
                _count = 0;
            }
        }
    }
}
