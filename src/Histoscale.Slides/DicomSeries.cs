using Histoscale.Slides.Formats.Dicom;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides;

/// <summary>
/// One DICOM whole-slide series (VL Whole Slide Microscopy instances of one Series Instance UID) found in a local
/// folder by <see cref="DicomFolder.List"/>; open it with <see cref="Slide.OpenDicomSeries(DicomSeriesInfo, SlideOptions?)"/>,
/// which reuses the listing's parse of each instance file.
/// </summary>
public sealed class DicomSeriesInfo
{
    internal DicomSeriesInfo(string folder, string uid, IReadOnlyList<(string Path, long Length, DateTime Modified, DicomFile File)> instances, IReadOnlyList<SlideException> problems)
    {
        Folder = folder;
        SeriesInstanceUid = uid;
        Instances = instances;
        Problems = problems;
        Files = [.. instances.Select(i => i.Path)];
        // The base level's instance: a VOLUME one (Image Type value 3) with the largest total pixel matrix, first by name.
        BaseFile = instances
            .Select(i => (i.Path, Volume: (i.File.Dataset.GetString(DicomTags.ImageType)?.Split('\\') is { Length: > 2 } type ? type[2].Trim() : "").ToUpperInvariant() is "VOLUME" or "",
                Pixels: (i.File.Dataset.GetInteger(DicomTags.TotalPixelMatrixColumns) ?? 0) * (i.File.Dataset.GetInteger(DicomTags.TotalPixelMatrixRows) ?? 0)))
            .OrderByDescending(i => i.Volume).ThenByDescending(i => i.Pixels).Select(i => i.Path).FirstOrDefault();
        SeriesDescription = instances.Select(i => i.File.Dataset.GetString(0x0008_103E)).FirstOrDefault(d => !string.IsNullOrWhiteSpace(d));
        Identity = DicomFormat.IdentityOf([.. instances.Select(i => (i.Path, i.Length, i.Modified)), .. problems.Where(p => File.Exists(p.File)).Select(p => new FileInfo(p.File)).Select(f => (f.FullName, f.Length, f.LastWriteTimeUtc))]);
    }

    /// <summary>The folder the series was found in.</summary>
    public string Folder { get; }

    /// <summary>Series Instance UID (0020,000E); empty when its instances have none.</summary>
    public string SeriesInstanceUid { get; }

    /// <summary>Series Description (0008,103E) of its first instance that has one; null when none does.</summary>
    public string? SeriesDescription { get; }

    /// <summary>The series' instance files that parsed, in name order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Its base level's instance file (the largest VOLUME instance): the file that names the series where a path must
    /// (<c>Slide.Open</c> of it reads its siblings of the series); null when no instance parsed.
    /// </summary>
    public string? BaseFile { get; }

    /// <summary>
    /// What the series is: its instance files' names, sizes and modification times (with those of the files in
    /// <see cref="Problems"/>); what a slide opened from it, from its folder or from one of its files reports.
    /// </summary>
    public SourceIdentity Identity { get; }

    /// <summary>
    /// Why the series cannot be opened, each naming its file: an instance of it that cannot be parsed, or a Part 10
    /// file of the folder whose series cannot be told. Empty when it can be opened.
    /// </summary>
    public IReadOnlyList<SlideException> Problems { get; }

    internal IReadOnlyList<(string Path, long Length, DateTime Modified, DicomFile File)> Instances { get; }
}

/// <summary>What <see cref="DicomFolder.List"/> found in one folder.</summary>
public sealed class DicomFolderListing
{
    internal DicomFolderListing(string folder, IReadOnlyList<DicomSeriesInfo> series, int skipped, IReadOnlyList<SlideException> unreadable)
    {
        Folder = folder;
        Series = series;
        Skipped = skipped;
        Unreadable = unreadable;
    }

    /// <summary>The folder listed.</summary>
    public string Folder { get; }

    /// <summary>Its WSI series, by Series Instance UID (ordinal order).</summary>
    public IReadOnlyList<DicomSeriesInfo> Series { get; }

    /// <summary>Part 10 files of other SOP classes (a CT slice, a presentation state), skipped.</summary>
    public int Skipped { get; }

    /// <summary>Part 10 files that cannot be parsed and whose series cannot be told (each also a problem of every series).</summary>
    public IReadOnlyList<SlideException> Unreadable { get; }
}

/// <summary>DICOM whole-slide series in local folders: a folder may hold several, each one slide.</summary>
public static class DicomFolder
{
    /// <summary>
    /// The WSI series in <paramref name="folder"/> (not its subfolders), each Part 10 file parsed once. Instance files
    /// may have any name or none; files without "DICM" after the preamble, dot-files, the media directory (DICOMDIR) and
    /// instances of other SOP classes are skipped. A file that cannot be parsed does not fail the listing: it is a
    /// problem of its series (or, when its series cannot be told, of every series in the folder).
    /// </summary>
    /// <param name="folder">A local folder.</param>
    /// <param name="include">Only files this accepts (full paths) are considered; null for all.</param>
    /// <exception cref="SlideException">The folder does not exist.</exception>
    public static DicomFolderListing List(string folder, Func<string, bool>? include = null) => DicomFormat.ListFolder(folder, include, null, null);

    /// <summary>
    /// What names each WSI series of <paramref name="folder"/> as a slide for a batch of slides (<c>infer</c>,
    /// <c>qc</c>, <c>submit</c> given the folder): the folder itself when it holds at most one series (it opens as that
    /// series, or fails saying why), else one instance file per series, in Series Instance UID order, which opens that
    /// series only (<see cref="Slide.Open(string, SlideOptions?)"/> of an instance reads its siblings of the same series) and names its
    /// outputs by its file name without the extension. That file is the series' base-level instance
    /// (<see cref="DicomSeriesInfo.BaseFile"/>, what the slide archive runs jobs on), unless its name without the
    /// extension is also another WSI file's of the folder (extension-less files named by SOP Instance UID, "x" and
    /// "x.dcm"): then the series' first instance, by name, whose name is the folder's only one; when none is, the base
    /// file still (<c>infer</c> and <c>qc</c> then refuse the name clash, naming both). A series none of whose files parsed is named
    /// by its first file that did not (opening it fails naming that file).
    /// </summary>
    /// <param name="folder">A local folder.</param>
    /// <exception cref="SlideException">The folder does not exist.</exception>
    public static IReadOnlyList<string> SlidePaths(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new SlideException(folder, "folder does not exist");
        }
        // Header-only pass first (meta group up to the Series Instance UID): a folder of at most one WSI series is the
        // slide itself, with no full parse (no per-frame groups, no pixel data) of any file. A file that cannot be read
        // does not abort the expansion: opening the folder reports it as one failed slide naming the file.
        if (WsiSeriesCount(folder) <= 1)
        {
            return [Path.TrimEndingDirectorySeparator(folder)];
        }
        DicomFolderListing listing;
        try
        {
            listing = List(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [Path.TrimEndingDirectorySeparator(folder)];
        }
        if (listing.Series.Count <= 1)
        {
            return [Path.TrimEndingDirectorySeparator(folder)];
        }
        static IEnumerable<string> Candidates(DicomSeriesInfo s) =>
            (s.BaseFile is { } b ? new[] { b } : []).Concat(s.Files).Concat(s.Problems.Select(p => p.File)).Distinct(StringComparer.Ordinal);
        var stems = listing.Series.SelectMany(Candidates).Distinct(StringComparer.Ordinal)
            .GroupBy(Stem, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key!, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        var result = new List<string>();
        foreach (var series in listing.Series)
        {
            var candidates = Candidates(series).ToList();
            if (candidates.Count == 0)
            {
                continue; // cannot happen: a series is listed for at least one of its files
            }
            result.Add(candidates.FirstOrDefault(c => stems[Stem(c)] == 1) ?? candidates[0]);
        }
        return result;
    }

    /// <summary>How many distinct WSI Series Instance UIDs the files of <paramref name="folder"/> name in their first bytes (stops counting at 2); unreadable files are not counted.</summary>
    private static int WsiSeriesCount(string folder)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<string> files;
        try
        {
            files = Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var path in files)
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || name.Equals("DICOMDIR", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            try
            {
                using var source = new LocalFileSource(path);
                if (!DicomParser.HasMagic(source))
                {
                    continue;
                }
                var head = DicomParser.ParseHeader(source);
                var sop = head.Dataset.GetString(DicomTags.SopClassUid) ?? head.Meta.GetString(0x0002_0002);
                if (sop == DicomInstance.WsiSopClass && seen.Add(head.Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "") && seen.Count > 1)
                {
                    return seen.Count;
                }
            }
            catch (Exception ex) when (ex is SlideException or IOException or UnauthorizedAccessException)
            {
                // not counted: the full listing (several series) or opening the folder (one) reports it
            }
        }
        return seen.Count;
    }

    // The pipeline's output-name rule (SlideInputs.StemOf): an all-digit last dot-part is part of a UID, not an extension.
    private static string Stem(string path)
    {
        var file = Path.GetFileName(path);
        var ext = Path.GetExtension(file);
        return ext.Length > 1 && !ext.AsSpan(1).ContainsAnyExceptInRange('0', '9') ? file : Path.GetFileNameWithoutExtension(file);
    }
}
