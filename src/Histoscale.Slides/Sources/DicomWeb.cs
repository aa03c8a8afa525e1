namespace Histoscale.Slides.Sources;

/// <summary>
/// Opens DICOMweb series (<c>http(s)://HOST/PATH/studies/{StudyUID}/series/{SeriesUID}</c>). A provider in
/// <see cref="SlideOptions.Sources"/> that also implements this lets <see cref="Slide.Open(string, SlideOptions?)"/>
/// read such a URL as a DICOM whole-slide series; Histoscale.Storage's ObjectStoreProvider does, with the same
/// HTTP client and retry policy as every other remote read.
/// </summary>
public interface IDicomWebProvider
{
    /// <summary>Opens the series at <paramref name="seriesUrl"/>; nothing is requested until it is read.</summary>
    IDicomWebSeries OpenDicomWebSeries(Uri seriesUrl);
}

/// <summary>One frame as a DICOMweb server returned it: its bytes and the transfer syntax they are in.</summary>
/// <param name="Data">The frame's stored bytes (a JPEG or JPEG 2000 stream, or native pixels).</param>
/// <param name="TransferSyntax">The transfer syntax UID the server said the bytes are in; null when it did not say.</param>
public readonly record struct DicomWebFrame(byte[] Data, string? TransferSyntax);

/// <summary>
/// One DICOMweb series: its WADO-RS metadata and frames. Implementations make the HTTP requests (retries, auth,
/// multipart/related parsing); the DICOM reader decides what to ask for. Thread-safe.
/// </summary>
public interface IDicomWebSeries : IDisposable
{
    /// <summary>The series URL as the user wrote it, for messages.</summary>
    string Name { get; }

    /// <summary>Most frames asked for in one WADO-RS frames request made for a reader (1 disables multi-frame requests).</summary>
    int MaxFramesPerRequest { get; }

    /// <summary>
    /// Most frames asked for in one request made for prefetch hints (frames known to be needed, so worth larger
    /// requests than a reader's speculative ones). Defaults to <see cref="MaxFramesPerRequest"/>.
    /// </summary>
    int MaxFramesPerPrefetchRequest => MaxFramesPerRequest;

    /// <summary>Most prefetch requests in flight at once for the series (readers' own requests come on top). Default 4.</summary>
    int MaxConcurrentRequests => 4;

    /// <summary>
    /// Most bytes of fetched frames held for the reader (prefetched, fetched with a neighbour, or read already);
    /// beyond it, read ones are dropped first, then the least recently used. Default 64 MiB.
    /// </summary>
    long MaxHeldFrameBytes => 64L << 20;

    /// <summary>The series' metadata (<c>…/series/{S}/metadata</c>): the DICOM JSON model, an array of instances' data sets.</summary>
    /// <exception cref="SlideException">The request failed; the message names the URL and the cause.</exception>
    Task<byte[]> ReadMetadataAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Frames <paramref name="frameNumbers"/> (1-based, in that order) of instance <paramref name="sopInstanceUid"/>
    /// in one request (<c>…/instances/{I}/frames/{n,m,…}</c>), asked for in <paramref name="transferSyntax"/>
    /// (null or "*": as stored). Returns one frame per number asked for, in the same order.
    /// </summary>
    /// <exception cref="SlideException">The request failed or the answer is malformed; the message names the URL (instance and frames) and the cause.</exception>
    Task<IReadOnlyList<DicomWebFrame>> ReadFramesAsync(string sopInstanceUid, IReadOnlyList<int> frameNumbers, string? transferSyntax, CancellationToken cancellationToken = default);
}
