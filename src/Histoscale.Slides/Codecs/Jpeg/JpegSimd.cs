namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Which kernels <see cref="JpegDecoder"/> runs for its hot loops (IDCT, fancy upsampling, YCbCr to RGB). Every
/// path writes the same bytes — libjpeg-turbo's — so the choice is about speed only. A path the hardware lacks
/// falls back to the best supported one below it (Avx2 → Vector128 → Scalar); <see cref="JpegDecoder.Resolve"/>
/// says which one a request gets.
/// </summary>
public enum JpegSimd
{
    /// <summary>The best the machine runs: Avx2 where supported, else Vector128 where hardware accelerated, else Scalar.</summary>
    Auto,

    /// <summary>x86 256-bit kernels (AVX2), with AVX-512 colour conversion where the CPU also has AVX-512.</summary>
    Avx2,

    /// <summary>Cross-platform 128-bit kernels (System.Runtime.Intrinsics.Vector128): NEON on arm64, SSE on x64.</summary>
    Vector128,

    /// <summary>Plain C#: the reference the vector paths must match, and what runs where no vector unit is usable.</summary>
    Scalar,
}
