namespace Histoscale.Slides.Formats;

/// <summary>The formats tried in order: specific vendors first, generic TIFF last.</summary>
public static class FormatRegistry
{
    /// <summary>Aperio SVS, then OME-TIFF, then generic tiled/stripped TIFF; the default for <see cref="SlideOptions.Formats"/>.</summary>
    public static IReadOnlyList<ISlideFormat> Default { get; } = [new AperioFormat(), new OmeTiffFormat(), new GenericTiffFormat()];
}
