namespace Histoscale.Synthesis;

/// <summary>
/// Beer-Lambert colour of haematoxylin and eosin: I = I0 · exp(-(H·h + E·e)) per channel, split into two
/// lookup tables so a pixel costs two lookups and two multiplies per channel instead of an exp.
/// </summary>
internal sealed class StainLut
{
    /// <summary>Concentration steps per unit; concentrations are quantised to 0..255.</summary>
    public const float Scale = 100f;

    // Optical density per unit concentration (R, G, B). Haematoxylin after Ruifrok & Johnston; eosin nudged
    // towards blue absorption so stroma reads pink-magenta rather than red, as on typical scanners.
    public static readonly float[] Haematoxylin = [0.62f, 0.78f, 0.30f];
    public static readonly float[] Eosin = [0.06f, 0.95f, 0.28f];

    public StainLut(IReadOnlyList<float>? haematoxylin = null, IReadOnlyList<float>? eosin = null)
    {
        var hod = haematoxylin ?? Haematoxylin;
        var eod = eosin ?? Eosin;
        for (var c = 0; c < 3; c++)
        {
            H[c] = new float[256];
            E[c] = new float[256];
            for (var q = 0; q < 256; q++)
            {
                H[c][q] = MathF.Exp(-q / Scale * hod[c]);
                E[c][q] = MathF.Exp(-q / Scale * eod[c]);
            }
        }
    }

    /// <summary>Transmission of haematoxylin, per channel, by quantised concentration.</summary>
    public float[][] H { get; } = new float[3][];

    /// <summary>Transmission of eosin, per channel, by quantised concentration.</summary>
    public float[][] E { get; } = new float[3][];
}
