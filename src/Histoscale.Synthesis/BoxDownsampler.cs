namespace Histoscale.Synthesis;

/// <summary>2x2 box filter for 8-bit RGB rows: output (x, y) averages input (2x..2x+1, 2y..2y+1), rounded.</summary>
internal static class BoxDownsampler
{
    public static void HalveRow(ReadOnlySpan<byte> top, ReadOnlySpan<byte> bottom, Span<byte> output, int outWidth)
    {
        for (var x = 0; x < outWidth; x++)
        {
            var i = x * 6;
            var o = x * 3;
            output[o] = (byte)((top[i] + top[i + 3] + bottom[i] + bottom[i + 3] + 2) >> 2);
            output[o + 1] = (byte)((top[i + 1] + top[i + 4] + bottom[i + 1] + bottom[i + 4] + 2) >> 2);
            output[o + 2] = (byte)((top[i + 2] + top[i + 5] + bottom[i + 2] + bottom[i + 5] + 2) >> 2);
        }
    }
}
