namespace Histoscale.Pipeline.Checkpoints;

/// <summary>CRC-32 (IEEE 802.3, reflected 0xEDB88320), as zlib computes it; guards checkpoint records against torn writes.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        crc = ~crc;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }
}
