using Histoscale.Slides.Tiff;
using Histoscale.Slides.Writing;

namespace Histoscale.Synthesis;

/// <summary>How the synthetic pyramid is laid out in the TIFF.</summary>
public enum SynthLayout
{
    /// <summary>Aperio SVS: level 0, thumbnail, 4x-reduced levels, label and macro, Aperio descriptions.</summary>
    Svs,

    /// <summary>Generic pyramidal TIFF as libvips writes it: one page per 2x level, resolution tags in px/cm.</summary>
    Tiff,

    /// <summary>OME-TIFF style: level 0 in IFD0, 2x-reduced levels as its SubIFDs.</summary>
    SubIfd,
}

/// <summary>Parameters of <see cref="SlideSynthesizer"/>. The same options and seed give the same file, byte for byte.</summary>
public sealed record SynthOptions
{
    /// <summary>Level-0 width in pixels.</summary>
    public required int Width { get; init; }
    /// <summary>Level-0 height in pixels.</summary>
    public required int Height { get; init; }
    /// <summary>Tile edge in pixels: a multiple of 16 from 16 to 4096.</summary>
    public int TileSize { get; init; } = 240;
    /// <summary>JPEG quality, 1–100.</summary>
    public int Quality { get; init; } = 80;
    /// <summary>File layout: Aperio SVS, generic pyramidal TIFF, or SubIFD (OME-style).</summary>
    public SynthLayout Layout { get; init; } = SynthLayout.Svs;
    /// <summary>Seed of the synthetic tissue; same seed, same pixels.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Tile compression; JPEG by default.</summary>
    public TiffWriteCompression Compression { get; init; } = TiffWriteCompression.Jpeg;
    /// <summary>Classic TIFF, BigTIFF, or whichever fits (default).</summary>
    public TiffFormat Format { get; init; } = TiffFormat.Auto;
    /// <summary>Huffman table choice for JPEG tiles.</summary>
    public JpegEncoderKind JpegEncoder { get; init; } = JpegEncoderKind.StandardHuffman;
    /// <summary>Threads rendering and compressing tiles.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Microns per pixel of level 0: 0.499 for SVS (Aperio 20x), 0.25 otherwise, unless set.</summary>
    public double? MicronsPerPixel { get; init; }

    /// <summary>
    /// Optical density per unit concentration of haematoxylin (R, G, B); null = the built-in H&amp;E colours. With
    /// <see cref="EosinOd"/>, a known stain change in optical-density space (another lab's or scanner's colours).
    /// </summary>
    public IReadOnlyList<float>? HaematoxylinOd { get; init; }

    /// <summary>Optical density per unit concentration of eosin (R, G, B); null = the built-in colour.</summary>
    public IReadOnlyList<float>? EosinOd { get; init; }

    /// <summary>Artifacts painted into the slide (blur, folds, ink), for quality-control tests; none by default.</summary>
    public IReadOnlyList<SynthArtifact> Artifacts { get; init; } = [];

    internal double Mpp => MicronsPerPixel ?? (Layout == SynthLayout.Svs ? 0.499 : 0.25);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad parameter.</summary>
    public void Validate()
    {
        if (Width < 1 || Height < 1 || (long)Width * Height > 1L << 40)
        {
            throw new ArgumentException($"size {Width}x{Height} must be positive and at most 2^40 pixels");
        }
        if (TileSize < 16 || TileSize > 4096 || TileSize % 16 != 0)
        {
            throw new ArgumentException($"tile size {TileSize} must be a multiple of 16 between 16 and 4096");
        }
        if (Quality is < 1 or > 100)
        {
            throw new ArgumentException($"quality {Quality} must be 1..100");
        }
        foreach (var (name, od) in new[] { ("haematoxylin", HaematoxylinOd), ("eosin", EosinOd) })
        {
            if (od is not null && (od.Count != 3 || od.Any(v => !(v >= 0 && v <= 5))))
            {
                throw new ArgumentException($"{name} optical density must be 3 numbers between 0 and 5 (R, G, B)");
            }
        }
        if (MaxDegreeOfParallelism < 1)
        {
            throw new ArgumentException("threads must be at least 1");
        }
    }
}

/// <summary>What <see cref="SlideSynthesizer.Write"/> produced.</summary>
/// <param name="Levels">Sizes of the pyramid levels written, level 0 first.</param>
/// <param name="FileBytes">Size of the file written.</param>
/// <param name="BigTiff">Whether the file is BigTIFF.</param>
/// <param name="Elapsed">Wall time of the write.</param>
public sealed record SynthResult(IReadOnlyList<(int Width, int Height)> Levels, long FileBytes, bool BigTiff, TimeSpan Elapsed);
