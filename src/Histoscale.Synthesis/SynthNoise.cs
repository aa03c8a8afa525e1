namespace Histoscale.Synthesis;

/// <summary>
/// Deterministic coordinate hashing and smooth value noise. Everything the synthesiser draws is a pure function
/// of (x, y, seed), so tiles render independently, in any order, on any thread, with identical results.
/// </summary>
internal static class SynthNoise
{
    public static uint Hash(int x, int y, uint seed)
    {
        var h = ((uint)x * 0x8DA6B343u) ^ ((uint)y * 0xD8163841u) ^ (seed * 0xCB1AB31Fu);
        h ^= h >> 13;
        h *= 0x5BD1E995u;
        h ^= h >> 15;
        h *= 0x27D4EB2Du;
        h ^= h >> 16;
        return h;
    }

    /// <summary>Uniform [0, 1) from a hash.</summary>
    public static float Unit(uint h) => (h >> 8) * (1f / 16777216f);

    /// <summary>Next value of a hash chain, for several independent numbers per lattice cell.</summary>
    public static uint Next(uint h)
    {
        h ^= h << 13;
        h ^= h >> 17;
        h ^= h << 5;
        return h * 0x9E3779B1u;
    }

    /// <summary>Value noise in [0, 1] with smoothstep interpolation between hashed lattice values.</summary>
    public static float Value(float x, float y, uint seed)
    {
        var xf = MathF.Floor(x);
        var yf = MathF.Floor(y);
        var xi = (int)xf;
        var yi = (int)yf;
        var fx = x - xf;
        var fy = y - yf;
        var u = fx * fx * (3 - (2 * fx));
        var v = fy * fy * (3 - (2 * fy));
        var a = Unit(Hash(xi, yi, seed));
        var b = Unit(Hash(xi + 1, yi, seed));
        var c = Unit(Hash(xi, yi + 1, seed));
        var d = Unit(Hash(xi + 1, yi + 1, seed));
        var top = a + ((b - a) * u);
        var bottom = c + ((d - c) * u);
        return top + ((bottom - top) * v);
    }

    /// <summary>Fractal sum of octaves (each half the scale and amplitude), normalised to [0, 1].</summary>
    public static float Fbm(float x, float y, uint seed, int octaves)
    {
        float sum = 0, amplitude = 1, total = 0;
        for (var o = 0; o < octaves; o++)
        {
            sum += Value(x, y, seed + (uint)(o * 1013)) * amplitude;
            total += amplitude;
            amplitude *= 0.5f;
            x *= 2.03f;
            y *= 2.03f;
        }
        return sum / total;
    }
}
