using Histoscale.Slides.Caching;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Formats;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides;

/// <summary>How a slide is opened.</summary>
public sealed record SlideOptions
{
    /// <summary>
    /// Decoded-tile cache, shared by every slide opened with these options (copies made with <c>with</c> share it
    /// too); null disables caching. Default: a new cache of <see cref="TileCache.DefaultCapacityBytes"/>
    /// for this options object, so a host that opens its slides with one options object bounds them all.
    /// </summary>
    public TileCache? Cache { get; init; } = new();

    /// <summary>Where paths and URIs are opened: local files always; by default plain http(s) too. Hosts add object stores.</summary>
    public IReadOnlyList<IByteSourceProvider> Sources { get; init; } = [ByteSources.Http];

    /// <summary>
    /// Which JPEG decoder kernels run: <see cref="JpegSimd.Auto"/> (default) picks the fastest this CPU has (AVX2 on
    /// x64, Vector128 — NEON — on arm64); a path the CPU lacks falls back to the best one below it.
    /// </summary>
    public JpegSimd JpegSimd { get; init; } = JpegSimd.Auto;

    /// <summary>Formats to try, in order. Default: <see cref="FormatRegistry.Default"/>.</summary>
    public IReadOnlyList<ISlideFormat> Formats { get; init; } = FormatRegistry.Default;
}
