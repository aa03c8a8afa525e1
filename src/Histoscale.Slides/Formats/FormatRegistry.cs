namespace Histoscale.Slides.Formats;

/// <summary>The formats tried in order: specific vendors first, generic TIFF last.</summary>
public static class FormatRegistry
{
    public static IReadOnlyList<ISlideFormat> Default { get; } = [new AperioFormat(), new OmeTiffFormat(), new GenericTiffFormat()];
}
