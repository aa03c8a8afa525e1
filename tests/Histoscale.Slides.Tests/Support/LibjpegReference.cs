using System.Runtime.CompilerServices;
using ImageMagick;

namespace Histoscale.Slides.Tests.Support;

/// <summary>
/// Makes the libjpeg-turbo inside ImageMagick the reference our decoder is held to: its C code paths.
/// Its SIMD paths give the same pixels on valid data (the real-tile check in BENCHMARKS.md runs with them) but
/// compute the IDCT in 16-bit lanes, so coefficients no encoder writes (a fuzzed quantisation value of 255)
/// overflow differently there. JSIMD_FORCENONE is read once, at libjpeg-turbo's first use, through the native
/// environment, hence at module load and through ImageMagick.
/// </summary>
internal static class LibjpegReference
{
    [ModuleInitializer]
    internal static void UseCCodePaths() => MagickNET.SetEnvironmentVariable("JSIMD_FORCENONE", "1");
}
