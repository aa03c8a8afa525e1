namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// A raster that fetches its own stored blocks ahead (a DICOMweb level: frames by WADO-RS, no byte source), so
/// <see cref="Slide.PrefetchTiles"/> hands hints to it rather than to the slide's byte source.
/// </summary>
internal interface IPrefetchingImage
{
    /// <summary>Whether hints do anything here (false for a series read from files).</summary>
    bool CanPrefetch { get; }

    /// <summary>Starts fetching blocks <paramref name="tiles"/> in the background; returns at once.</summary>
    void Prefetch(IEnumerable<(long Col, long Row)> tiles);
}
