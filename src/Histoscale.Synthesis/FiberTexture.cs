namespace Histoscale.Synthesis;

/// <summary>
/// A tileable texture of wavy collagen-like fibres, drawn once per seed and sampled by every pixel of stroma
/// (one lookup instead of per-pixel noise octaves). Fibres run mostly along one direction; sampling it
/// transposed gives the crossing direction, and the two are blended by a slowly varying field.
/// </summary>
internal sealed class FiberTexture
{
    public const int Size = 1024;
    public const int Mask = Size - 1;

    private readonly byte[] _texels = new byte[Size * Size];
    private readonly byte[] _transposed = new byte[Size * Size]; // so the crossing set is also read along rows

    public FiberTexture(uint seed)
    {
        var acc = new float[Size * Size];
        var h = SynthNoise.Hash(17, 91, seed);
        float Rand()
        {
            h = SynthNoise.Next(h);
            return SynthNoise.Unit(h);
        }
        var baseAngle = Rand() * MathF.PI;
        for (var f = 0; f < 2200; f++)
        {
            float x = Rand() * Size, y = Rand() * Size;
            var angle = baseAngle + ((Rand() - 0.5f) * 0.9f);
            var length = 60 + (Rand() * 260);
            var width = 1.2f + (Rand() * 2.2f);
            var strength = 0.25f + (Rand() * 0.75f);
            var bend = (Rand() - 0.5f) * 0.006f;
            for (var s = 0; s < length; s++)
            {
                angle += bend + ((Rand() - 0.5f) * 0.025f);
                x += MathF.Cos(angle);
                y += MathF.Sin(angle);
                Stamp(acc, x, y, width, strength);
            }
        }
        for (var i = 0; i < acc.Length; i++)
        {
            _texels[i] = (byte)(255f * (1f - MathF.Exp(-acc[i] * 0.9f))); // saturating: crossings don't blow out
        }
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                _transposed[(x * Size) + y] = _texels[(y * Size) + x];
            }
        }
    }

    /// <summary>Fibre density 0..255 at (x, y); the texture repeats every <see cref="Size"/> pixels.</summary>
    public byte At(int x, int y) => _texels[((y & Mask) * Size) + (x & Mask)];

    /// <summary>The texture mirrored about its diagonal: fibres crossing those of <see cref="At"/>.</summary>
    public byte Across(int x, int y) => _transposed[((y & Mask) * Size) + (x & Mask)];

    private static void Stamp(float[] acc, float cx, float cy, float radius, float strength)
    {
        var r = (int)MathF.Ceiling(radius);
        var ix = (int)cx;
        var iy = (int)cy;
        for (var dy = -r; dy <= r; dy++)
        {
            for (var dx = -r; dx <= r; dx++)
            {
                var ddx = ix + dx - cx;
                var ddy = iy + dy - cy;
                var d = MathF.Sqrt((ddx * ddx) + (ddy * ddy));
                if (d < radius)
                {
                    // Small per-step weight: a fibre is the sum of many overlapping stamps along its path.
                    acc[(((iy + dy) & Mask) * Size) + ((ix + dx) & Mask)] += strength * 0.35f * (1 - (d / radius));
                }
            }
        }
    }
}
