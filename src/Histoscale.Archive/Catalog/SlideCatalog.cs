using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Histoscale.Pipeline.Inputs;
using Histoscale.Slides;
using Histoscale.Slides.Formats;
using Histoscale.Slides.Sources;

namespace Histoscale.Archive.Catalog;

/// <summary>An overlay of a slide: a pyramidal image (an <c>infer</c> heatmap) placed on the slide's level-0 grid.</summary>
internal sealed record Overlay(string Id, string Name, string File, SharedSlide Reader, DeepZoomGeometry Geometry, double OriginX, double OriginY, double Scale, JsonElement? Legend)
{
    public Slide Image => Reader.Slide;
}

/// <summary>A served slide: an opaque id (never a path), where it lies, and the open reader.</summary>
/// <remarks>
/// For a slide of a remote collection, File is its URI and Listed the identity its listing gave (ETag/version). For a
/// DICOM series (<c>DicomFolder</c> set), RelativePath and File name what opens that series as a slide — its
/// folder when the folder holds no other series, else its base level's instance file — so jobs run <c>infer</c> on it and
/// heatmaps match it by that name; Listed is the folder's fingerprint (its candidate files' names, sizes, times).
/// </remarks>
internal sealed record CatalogSlide(string Id, string Name, string Collection, string RelativePath, string File, SharedSlide Reader, DeepZoomGeometry Geometry, IReadOnlyList<Overlay> Overlays, string? Listed = null)
{
    /// <summary>A DICOM series: its folder relative to the collection's root ("" for the root); null for a slide file.</summary>
    public string? DicomFolder { get; init; }

    /// <summary>A DICOM series: its Series Instance UID; null for a slide file.</summary>
    public string? SeriesUid { get; init; }

    public Slide Slide => Reader.Slide;

    /// <summary>The slide's reader and its overlays' readers.</summary>
    public IReadOnlyList<SharedSlide> Readers => [Reader, .. Overlays.Select(o => o.Reader)];
}

/// <summary>One problem met while scanning, reported by the scan endpoint and the server log.</summary>
/// <remarks>Unreachable: a remote root could not be listed at all; its previous slides are kept.</remarks>
internal sealed record ScanProblem(string Collection, string Path, string Error, bool Unreachable = false);

/// <summary>
/// An <c>infer</c> heatmap under the results folder, with what <c>infer</c> recorded about the slide it was computed
/// from (its state file's path and content identity, or its run.json's path); null where nothing was recorded.
/// </summary>
internal sealed record HeatmapFile(string Name, string Relative, string File, string? SourcePath, SourceIdentity? SourceIdentity)
{
    public bool HasProvenance => SourcePath is not null || SourceIdentity is not null;
}

/// <summary>
/// The slides of every collection, found by walking each root. Ids are hashes of (collection, relative path), so
/// they survive restarts and rescans and carry no path a client could bend. A file or folder reached through a
/// symbolic link counts only when its real location lies inside the root. A rescan swaps in a new catalog; readers
/// it replaced are retired, and closed once the last request reading them has finished (see <see cref="SharedSlide"/>).
/// Heatmaps become overlays of exactly one slide, matched on collection and relative path (see
/// <see cref="AssignHeatmaps"/>); one that could belong to several is refused with a scan problem saying why.
/// </summary>
internal sealed class SlideCatalog : IDisposable
{
    private const string HeatmapSuffix = ".heatmap.tif";
    private readonly ArchiveOptions _options;
    private readonly Lock _scanLock = new();
    // Folders holding DICOM candidates at the last scan, by collection and relative folder: their fingerprint and
    // whether they were listed without problems (such a folder, unchanged, is not listed again).
    private Dictionary<(string Collection, string Folder), (string Fingerprint, bool Clean)> _dicomFolders = [];
    private volatile FrozenDictionary<string, CatalogSlide> _slides = FrozenDictionary<string, CatalogSlide>.Empty;

    public SlideCatalog(ArchiveOptions options)
    {
        _options = options;
    }

    public IEnumerable<CatalogSlide> All => _slides.Values.OrderBy(s => s.Collection, StringComparer.Ordinal).ThenBy(s => s.RelativePath, StringComparer.Ordinal);

    public IReadOnlyList<string> Collections => [.. _options.Collections.Select(c => c.Name)];

    public bool TryGet(string id, out CatalogSlide slide) => _slides.TryGetValue(id, out slide!);

    /// <summary>
    /// The slide with its readers held for the caller until it disposes <paramref name="lease"/>: a rescan meanwhile
    /// retires them but does not close them. False when no slide has this id.
    /// </summary>
    public bool TryLease(string id, out CatalogSlide slide, out IDisposable lease)
    {
        // A reader is retired only after the swap, so failing to acquire one means a newer catalog is already visible.
        for (var attempt = 0; attempt < 64; attempt++)
        {
            if (!_slides.TryGetValue(id, out slide!))
            {
                break;
            }
            if (SlideLease.TryAcquire(slide.Readers) is { } held)
            {
                lease = held;
                return true;
            }
        }
        slide = null!;
        lease = null!;
        return false;
    }

    /// <summary>Rescans the given collections (all when null); returns the slide count and the problems met.</summary>
    public (int Slides, IReadOnlyList<ScanProblem> Problems) Scan(IReadOnlyCollection<string>? collections = null)
    {
        lock (_scanLock)
        {
            var old = _slides;
            var problems = new List<ScanProblem>();
            var next = new Dictionary<string, CatalogSlide>(StringComparer.Ordinal);
            var scanned = new HashSet<string>(StringComparer.Ordinal);
            var dicomFolders = _dicomFolders.Where(kv => collections is not null && !collections.Contains(kv.Key.Collection)).ToDictionary();
            foreach (var collection in _options.Collections)
            {
                if (collections is not null && !collections.Contains(collection.Name))
                {
                    foreach (var kept in old.Values.Where(s => s.Collection == collection.Name))
                    {
                        next[kept.Id] = kept;
                    }
                    continue;
                }
                if (_options.RemoteSlides is { } remote && remote.Handles(collection.Root))
                {
                    if (!ScanRemote(collection, remote, old, next, problems))
                    {
                        foreach (var kept in old.Values.Where(s => s.Collection == collection.Name))
                        {
                            next[kept.Id] = kept; // the previous listing stays served
                        }
                    }
                    scanned.Add(collection.Name);
                    continue;
                }
                scanned.Add(collection.Name);
                var (files, dicom) = Walk(collection, problems);
                foreach (var folder in dicom)
                {
                    ScanDicomFolder(collection, folder, old, next, dicomFolders, problems);
                }
                foreach (var (relative, file) in files)
                {
                    var id = IdOf(collection.Name, relative);
                    if (old.TryGetValue(id, out var existing) && existing.File == file && Unchanged(existing))
                    {
                        next[id] = existing; // the slide stays open; its overlays are checked below
                        continue;
                    }
                    try
                    {
                        var slide = Slide.Open(file, _options.SlideOptions);
                        next[id] = new CatalogSlide(id, Path.GetFileName(relative), collection.Name, relative, file, new SharedSlide(slide), DeepZoomGeometry.For(slide), []);
                    }
                    catch (Exception ex) when (ex is SlideException or IOException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
                    {
                        problems.Add(new ScanProblem(collection.Name, relative, ex.Message));
                    }
                }
            }
            var assigned = AssignHeatmaps(FindHeatmaps(problems), next.Values.ToList(), problems);
            foreach (var s in next.Values.Where(s => scanned.Contains(s.Collection)).ToList())
            {
                var found = assigned.GetValueOrDefault(s.Id) ?? [];
                if (!SameOverlays(s.Overlays, found))
                {
                    // A new infer run (or a reopened slide): open the new set; the old readers are retired below.
                    next[s.Id] = s with { Overlays = OpenOverlays(s, found, problems) };
                }
            }
            _slides = next.ToFrozenDictionary(StringComparer.Ordinal);
            _dicomFolders = dicomFolders;
            var live = new HashSet<SharedSlide>(next.Values.SelectMany(s => s.Readers), ReferenceEqualityComparer.Instance);
            foreach (var reader in old.Values.SelectMany(s => s.Readers))
            {
                if (!live.Contains(reader))
                {
                    reader.Retire(); // closed now, or when the last request reading it finishes
                }
            }
            return (next.Count, problems);
        }
    }

    /// <summary>
    /// Lists a remote root and opens what is new or replaced (another identity under the same key); false (with an
    /// unreachable problem naming the URL) when the root cannot be listed.
    /// </summary>
    private bool ScanRemote(ArchiveCollection collection, IRemoteSlideStore remote, FrozenDictionary<string, CatalogSlide> old, Dictionary<string, CatalogSlide> next, List<ScanProblem> problems)
    {
        IReadOnlyList<RemoteSlideObject> listed;
        try
        {
            listed = remote.List(collection.Root);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var message = ex.Message.Contains(collection.Root, StringComparison.Ordinal) ? ex.Message : $"{collection.Root}: {ex.Message}";
            problems.Add(new ScanProblem(collection.Name, collection.Root, $"cannot list {message}", Unreachable: true));
            return false;
        }
        foreach (var item in listed.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            var relative = item.Key.TrimStart('/');
            if (relative.Length == 0 || relative.Split('/').Any(p => p is "" or "." or "..") || !FormatRegistry.IsSlideName(relative, _options.SlideOptions.Formats)
                || relative.EndsWith(HeatmapSuffix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var id = IdOf(collection.Name, relative);
            var listedAs = $"{item.Identity}|{item.Length}";
            if (old.TryGetValue(id, out var existing) && existing.File == item.Uri && existing.Listed == listedAs)
            {
                next[id] = existing;
                continue;
            }
            try
            {
                var slide = remote.Open(item, _options.SlideOptions);
                next[id] = new CatalogSlide(id, relative[(relative.LastIndexOf('/') + 1)..], collection.Name, relative, item.Uri, new SharedSlide(slide), DeepZoomGeometry.For(slide), [], listedAs);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problems.Add(new ScanProblem(collection.Name, relative, ex.Message));
            }
        }
        return true;
    }

    /// <summary>Whether the file still has the size and modification time the open reader saw.</summary>
    private static bool Unchanged(CatalogSlide s)
    {
        try
        {
            if (s.Slide.SourceIdentity is not { } identity)
            {
                return true;
            }
            var info = new FileInfo(s.File);
            return info.Exists && info.Length == identity.Length
                && (identity.Modified is not { } modified || modified.UtcDateTime == info.LastWriteTimeUtc);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool SameOverlays(IReadOnlyList<Overlay> open, List<HeatmapFile> found)
    {
        if (open.Count != found.Count)
        {
            return false;
        }
        foreach (var o in open)
        {
            if (!found.Any(f => f.File == o.File) || o.Image.SourceIdentity is not { } identity || new FileInfo(o.File) is not { Exists: true } info || info.Length != identity.Length
                || (identity.Modified is { } modified && modified.UtcDateTime != info.LastWriteTimeUtc))
            {
                return false;
            }
        }
        return true;
    }

    internal static string IdOf(string collection, string relative) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(collection + "\n" + relative)))[..24];

    /// <summary>A folder under a collection's root holding files that may be DICOM instances (no slide extension, not hidden).</summary>
    private sealed record DicomCandidates(string Path, string Relative, List<(string Path, string Real)> Files);

    /// <summary>
    /// Slide files under the collection's root whose real path stays inside the root's real path, and per folder the
    /// other files there (inside the root too) that may be DICOM instances: a DICOM series has no extension to know it by.
    /// </summary>
    private (List<(string Relative, string File)> Files, List<DicomCandidates> Dicom) Walk(ArchiveCollection collection, List<ScanProblem> problems)
    {
        var found = new List<(string, string)>();
        var dicom = new Dictionary<string, DicomCandidates>(StringComparer.Ordinal);
        string root;
        try
        {
            root = RealPath(collection.Root);
        }
        catch (IOException ex)
        {
            problems.Add(new ScanProblem(collection.Name, collection.Root, ex.Message));
            return (found, []);
        }
        if (!Directory.Exists(root))
        {
            problems.Add(new ScanProblem(collection.Name, collection.Root, "the collection's folder does not exist"));
            return (found, []);
        }
        var enumeration = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.None, ReturnSpecialDirectories = false };
        foreach (var path in Directory.EnumerateFiles(root, "*", enumeration))
        {
            var slideName = FormatRegistry.IsSlideName(path, _options.SlideOptions.Formats);
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (path.EndsWith(HeatmapSuffix, StringComparison.OrdinalIgnoreCase) || (!slideName && ("/" + relative).Contains("/.", StringComparison.Ordinal)))
            {
                continue; // heatmaps; hidden files and folders (infer's .histoscale records) hold no DICOM series
            }
            string real;
            try
            {
                real = RealPath(path);
            }
            catch (IOException ex)
            {
                problems.Add(new ScanProblem(collection.Name, relative, ex.Message));
                continue;
            }
            if (!IsInside(root, real))
            {
                if (slideName)
                {
                    problems.Add(new ScanProblem(collection.Name, relative, "links outside the collection's folder; not served"));
                }
                continue;
            }
            if (slideName)
            {
                found.Add((relative, real));
                continue;
            }
            var folder = Path.GetDirectoryName(path)!;
            if (!dicom.TryGetValue(folder, out var candidates))
            {
                var folderRelative = Path.GetRelativePath(root, folder).Replace('\\', '/');
                dicom[folder] = candidates = new DicomCandidates(folder, folderRelative == "." ? "" : folderRelative, []);
            }
            candidates.Files.Add((path, real));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return (found, [.. dicom.Values.OrderBy(d => d.Relative, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// Lists the DICOM series of one folder, each one slide, unless the folder's files are as they were at the last
    /// scan (same names, sizes and times) and it was listed then without problems: its slides are kept as they are.
    /// A series whose identity (its instance files) is unchanged keeps its open reader; a new one is opened from the
    /// listing's parse (each file parsed once). Series that cannot be opened, and Part 10 files whose series cannot be
    /// told in a folder without any series, are scan problems naming the file.
    /// </summary>
    private void ScanDicomFolder(ArchiveCollection collection, DicomCandidates folder, FrozenDictionary<string, CatalogSlide> old, Dictionary<string, CatalogSlide> next,
        Dictionary<(string, string), (string Fingerprint, bool Clean)> folders, List<ScanProblem> problems)
    {
        var fingerprint = Fingerprint(folder.Files);
        var key = (collection.Name, folder.Relative);
        var previous = old.Values.Where(s => s.Collection == collection.Name && s.DicomFolder == folder.Relative).ToList();
        if (_dicomFolders.TryGetValue(key, out var before) && before.Clean && before.Fingerprint == fingerprint)
        {
            foreach (var kept in previous)
            {
                next[kept.Id] = kept;
            }
            folders[key] = before;
            return;
        }
        DicomFolderListing listing;
        var include = folder.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        try
        {
            listing = Histoscale.Slides.DicomFolder.List(folder.Path, include.Contains);
        }
        catch (Exception ex) when (ex is SlideException or IOException or UnauthorizedAccessException)
        {
            problems.Add(new ScanProblem(collection.Name, folder.Relative.Length == 0 ? "." : folder.Relative, ex.Message));
            folders[key] = (fingerprint, false);
            return;
        }
        var clean = true;
        if (listing.Series.Count == 0)
        {
            foreach (var bad in listing.Unreadable)
            {
                problems.Add(new ScanProblem(collection.Name, Join(folder.Relative, Path.GetFileName(bad.File)), bad.Message));
                clean = false;
            }
        }
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder.Path));
        var single = listing.Series.Count == 1 && folder.Relative.Length > 0;
        // Opened as a folder, a series would take files the catalog left out (a link leading outside the collection):
        // then its job opens the base instance file, which takes only that series' instances.
        var wholeFolder = single && !LeavesOutFiles(folder.Path, include);
        var descriptions = listing.Series.Where(s => s.SeriesDescription is not null).GroupBy(s => s.SeriesDescription!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var series in listing.Series)
        {
            var id = IdOf(collection.Name, folder.Relative + "\0dicom-series\0" + series.SeriesInstanceUid);
            var label = series.SeriesDescription is { } d && descriptions[d] == 1 ? d : series.SeriesInstanceUid.Length > 0 ? series.SeriesInstanceUid : "(no Series Instance UID)";
            var first = series.BaseFile ?? series.Problems[0].File;
            var relative = wholeFolder ? folder.Relative : Join(folder.Relative, Path.GetFileName(first));
            var name = listing.Series.Count == 1 ? folderName : $"{folderName}: {label}";
            if (series.Problems.Count > 0)
            {
                problems.Add(new ScanProblem(collection.Name, Join(folder.Relative, Path.GetFileName(series.Problems[0].File)), $"DICOM series {series.SeriesInstanceUid} not served: {series.Problems[0].Message}"));
                clean = false;
                continue;
            }
            try
            {
                // What opens this series as a slide (infer's input in a job): the folder, or its first instance file.
                var input = wholeFolder ? RealPath(folder.Path) : folder.Files.Find(f => f.Path == first).Real;
                if (input is null)
                {
                    problems.Add(new ScanProblem(collection.Name, relative, $"DICOM series {series.SeriesInstanceUid} not served: its instance file {Path.GetFileName(first)} is not among the files listed in folder {(folder.Relative.Length == 0 ? "." : folder.Relative)}"));
                    clean = false;
                    continue;
                }
                if (old.TryGetValue(id, out var existing) && existing.RelativePath == relative && SourceIdentity.Difference(existing.Slide.SourceIdentity, series.Identity) is null)
                {
                    next[id] = existing with { Name = name, File = input, Listed = fingerprint };
                    continue;
                }
                var slide = Slide.OpenDicomSeries(series, _options.SlideOptions);
                next[id] = new CatalogSlide(id, name, collection.Name, relative, input, new SharedSlide(slide), DeepZoomGeometry.For(slide), [], fingerprint)
                {
                    DicomFolder = folder.Relative,
                    SeriesUid = series.SeriesInstanceUid,
                };
            }
            catch (Exception ex) when (ex is SlideException or IOException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
            {
                problems.Add(new ScanProblem(collection.Name, relative, $"DICOM series {series.SeriesInstanceUid} not served: {ex.Message}"));
                clean = false;
            }
        }
        folders[key] = (fingerprint, clean);
    }

    /// <summary>Whether <paramref name="folder"/> holds files a DICOM folder open would consider that the catalog did not list (not dot-files, not the DICOMDIR).</summary>
    private static bool LeavesOutFiles(string folder, HashSet<string> listed)
    {
        try
        {
            return Directory.EnumerateFiles(folder).Any(f => Path.GetFileName(f) is var name && !name.StartsWith('.') && !name.Equals("DICOMDIR", StringComparison.OrdinalIgnoreCase) && !listed.Contains(f));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static string Join(string folder, string name) => folder.Length == 0 ? name : folder + "/" + name;

    /// <summary>A folder's candidate files as they are now: names, sizes and modification times, hashed.</summary>
    private static string Fingerprint(List<(string Path, string Real)> files)
    {
        var text = new StringBuilder();
        foreach (var (path, real) in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            var info = new FileInfo(real);
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}\0{(info.Exists ? info.Length : -1)}\0{(info.Exists ? info.LastWriteTimeUtc.Ticks : 0)}\n");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    internal static bool IsInside(string root, string real) =>
        real.StartsWith(root.EndsWith('/') ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The path with every symbolic link along it resolved (what the kernel would open).</summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.GetPathRoot(full)!;
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            for (var hops = 0; hops < 40; hops++)
            {
                FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
                if (info.LinkTarget is not { } target)
                {
                    break;
                }
                next = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(next)!, target));
                if (hops == 39)
                {
                    throw new IOException($"'{path}': too many levels of symbolic links");
                }
            }
            current = next;
        }
        return current;
    }

    /// <summary><c>NAME.heatmap.tif</c> files under the results folder (their real path inside it), with their provenance.</summary>
    private List<HeatmapFile> FindHeatmaps(List<ScanProblem> problems)
    {
        var list = new List<HeatmapFile>();
        if (_options.ResultsDirectory is not { } results)
        {
            return list;
        }
        if (!Directory.Exists(results))
        {
            problems.Add(new ScanProblem("(results)", results, "the results folder does not exist"));
            return list;
        }
        var root = RealPath(results);
        foreach (var path in Directory.EnumerateFiles(root, "*" + HeatmapSuffix, new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            var real = RealPath(path);
            if (!IsInside(root, real))
            {
                continue;
            }
            var name = Path.GetFileName(path)[..^HeatmapSuffix.Length];
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            var (source, identity) = Provenance(root, Path.GetDirectoryName(path)!, name, relative, problems);
            list.Add(new HeatmapFile(name, relative, real, source, identity));
        }
        list.Sort((x, y) => string.CompareOrdinal(x.Relative, y.Relative));
        return list;
    }

    /// <summary>
    /// What <c>infer</c> recorded about the slide a heatmap was computed from: <c>.histoscale/NAME.state.json</c>
    /// beside it (the slide's path and content identity), else the slide's path in the run.json beside it (or a
    /// worker's <c>.histoscale/NAME.run.json</c>). Nulls when none is there or readable.
    /// </summary>
    private static (string? Path, SourceIdentity? Identity) Provenance(string root, string folder, string name, string relative, List<ScanProblem> problems)
    {
        string? Inside(string path) => File.Exists(path) && IsInside(root, RealPath(path)) ? path : null;
        try
        {
            if (Inside(Path.Combine(folder, ".histoscale", name + ".state.json")) is { } statePath)
            {
                using var state = JsonDocument.Parse(File.ReadAllText(statePath));
                var r = state.RootElement;
                var slide = Text(r, "slide");
                SourceIdentity? identity = null;
                if (Property(r, "identity", out var i) && i.ValueKind == JsonValueKind.Object && Property(i, "length", out var length) && length.TryGetInt64(out var bytes))
                {
                    identity = new SourceIdentity
                    {
                        Length = bytes,
                        ETag = Text(i, "eTag"),
                        Version = Text(i, "version"),
                        Modified = Text(i, "modified") is { } m && DateTimeOffset.TryParse(m, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var t) ? t : null,
                        EndsSha256 = Text(i, "endsSha256"),
                    };
                }
                return (slide, identity);
            }
            foreach (var report in new[] { Path.Combine(folder, "run.json"), Path.Combine(folder, ".histoscale", name + ".run.json") })
            {
                if (Inside(report) is not { } reportPath)
                {
                    continue;
                }
                using var run = JsonDocument.Parse(File.ReadAllText(reportPath));
                if (Property(run.RootElement, "slides", out var slides) && slides.ValueKind == JsonValueKind.Array)
                {
                    foreach (var entry in slides.EnumerateArray())
                    {
                        if (entry.ValueKind == JsonValueKind.Object && Text(entry, "name") == name && Text(entry, "path") is { } path)
                        {
                            return (path, null);
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            problems.Add(new ScanProblem("(results)", relative, $"the infer records beside it cannot be read ({ex.Message}); matched by its place only"));
        }
        return (null, null);
    }

    private static string? Text(JsonElement e, string property) =>
        Property(e, property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A property by name, any case (infer writes camelCase; hand-made records may not).</summary>
    private static bool Property(JsonElement e, string name, out JsonElement value)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    value = p.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    /// <summary>
    /// Which slide each heatmap belongs to, by slide id. Candidates are the slides named NAME (file name without
    /// extension) in any collection. A heatmap under <c>RESULTS/COLLECTION/FOLDER/</c>, where COLLECTION is a
    /// collection's name, can only be of that collection's slide <c>FOLDER/NAME.*</c>. Where infer recorded the
    /// slide it ran on, a candidate must be that slide: the same content identity (a slide changed since is refused)
    /// or, with no identity recorded, the same path. A heatmap left with several candidates is ambiguous and
    /// refused, as is one whose records name none of them; each refusal is a scan problem saying why.
    /// </summary>
    internal Dictionary<string, List<HeatmapFile>> AssignHeatmaps(List<HeatmapFile> heatmaps, IReadOnlyList<CatalogSlide> slides, List<ScanProblem> problems)
    {
        var assigned = new Dictionary<string, List<HeatmapFile>>(StringComparer.Ordinal);
        var byName = slides.ToLookup(s => SlideInputs.NameOf(s.RelativePath), StringComparer.Ordinal); // infer's output name (x.ome.tif → x)
        var collections = _options.Collections.ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var heatmap in heatmaps)
        {
            IEnumerable<CatalogSlide> candidates = byName[heatmap.Name];
            var folder = heatmap.Relative.Contains('/', StringComparison.Ordinal) ? heatmap.Relative[..heatmap.Relative.LastIndexOf('/')] : "";
            var first = folder.Split('/')[0];
            string? laidOut = null;
            if (folder.Length > 0 && collections.ContainsKey(first))
            {
                var rest = folder.Length > first.Length ? folder[(first.Length + 1)..] : "";
                candidates = candidates.Where(s => s.Collection == first && FolderOf(s.RelativePath) == rest);
                laidOut = $"{first}/{(rest.Length > 0 ? rest + "/" : "")}{heatmap.Name}.*";
            }
            var list = candidates.ToList();
            if (list.Count == 0)
            {
                if (laidOut is not null)
                {
                    problems.Add(new ScanProblem("(results)", heatmap.Relative, $"no slide {laidOut} for this heatmap; not shown"));
                }
                continue;
            }
            if (heatmap.HasProvenance)
            {
                var reasons = new List<string>();
                var matching = new List<CatalogSlide>();
                foreach (var s in list)
                {
                    if (Mismatch(heatmap, s, collections[s.Collection]) is { } why)
                    {
                        reasons.Add($"{s.Collection}/{s.RelativePath}: {why}");
                    }
                    else
                    {
                        matching.Add(s);
                    }
                }
                if (matching.Count > 1 && heatmap.SourcePath is { } given)
                {
                    // Same bytes in several places: the recorded path says which one infer read.
                    var byPath = matching.Where(s => SamePath(given, s, collections[s.Collection])).ToList();
                    matching = byPath.Count > 0 ? byPath : matching;
                }
                if (matching.Count == 0)
                {
                    problems.Add(new ScanProblem("(results)", heatmap.Relative, $"computed from {heatmap.SourcePath ?? "another slide"}, not from a slide served here ({string.Join("; ", reasons)}); not shown"));
                    continue;
                }
                list = matching;
            }
            if (list.Count > 1)
            {
                problems.Add(new ScanProblem("(results)", heatmap.Relative,
                    $"ambiguous: it could be of {string.Join(", ", list.Select(s => s.Collection + "/" + s.RelativePath))}; not shown. Put it under RESULTS/COLLECTION/FOLDER/ (the slide's place) or keep infer's .histoscale records beside it"));
                continue;
            }
            if (!assigned.TryGetValue(list[0].Id, out var mine))
            {
                assigned[list[0].Id] = mine = [];
            }
            mine.Add(heatmap);
        }
        return assigned;
    }

    private static string FolderOf(string relative) => relative.Contains('/', StringComparison.Ordinal) ? relative[..relative.LastIndexOf('/')] : "";

    /// <summary>Why the slide is not the one infer recorded for the heatmap; null when it is.</summary>
    private static string? Mismatch(HeatmapFile heatmap, CatalogSlide slide, ArchiveCollection collection)
    {
        if (heatmap.SourceIdentity is { } recorded)
        {
            return SourceIdentity.Difference(recorded, slide.Slide.SourceIdentity);
        }
        return heatmap.SourcePath is { } given && !SamePath(given, slide, collection) ? $"infer ran on {given}" : null;
    }

    /// <summary>
    /// Whether a path infer was given names this slide: an absolute path (or file:// URI) that is the slide's file,
    /// or a relative one (relative to wherever infer ran) that the slide's path ends with.
    /// </summary>
    private static bool SamePath(string given, CatalogSlide slide, ArchiveCollection collection)
    {
        if (slide.File.Contains("://", StringComparison.Ordinal))
        {
            return given == slide.File; // a remote slide: infer recorded the URI it read
        }
        if (given.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            given = Uri.TryCreate(given, UriKind.Absolute, out var uri) ? uri.LocalPath : given;
        }
        else if (given.Contains("://", StringComparison.Ordinal))
        {
            return false;
        }
        var listed = Path.GetFullPath(Path.Combine(collection.Root, slide.RelativePath));
        if (Path.IsPathRooted(given))
        {
            var full = Path.GetFullPath(given);
            if (full == listed || full == slide.File)
            {
                return true;
            }
            try
            {
                return File.Exists(full) && RealPath(full) == slide.File;
            }
            catch (IOException)
            {
                return false;
            }
        }
        var tail = "/" + given.Replace('\\', '/').TrimStart('.', '/');
        return given.Length > 0 && (listed.EndsWith(tail, StringComparison.Ordinal) || slide.File.EndsWith(tail, StringComparison.Ordinal));
    }

    private List<Overlay> OpenOverlays(CatalogSlide owner, List<HeatmapFile> files, List<ScanProblem> problems)
    {
        var overlays = new List<Overlay>();
        foreach (var heatmap in files)
        {
            try
            {
                var image = Slide.Open(heatmap.File, _options.SlideOptions);
                try
                {
                    var (ox, oy, scale, legend) = Registration(image, owner.Slide);
                    overlays.Add(new Overlay(IdOf("results", heatmap.Relative), heatmap.Relative, heatmap.File, new SharedSlide(image), DeepZoomGeometry.For(image), ox, oy, scale, legend));
                }
                catch
                {
                    image.Dispose();
                    throw;
                }
            }
            catch (Exception ex) when (ex is SlideException or IOException or ArgumentException)
            {
                problems.Add(new ScanProblem(owner.Collection, owner.RelativePath, $"overlay {heatmap.Relative}: {ex.Message}"));
            }
        }
        return overlays;
    }

    /// <summary>
    /// Where the heatmap lies on the slide: the registration <c>infer</c> writes into its ImageDescription (origin
    /// and level-0 pixels per heatmap pixel), else stretched over the whole slide.
    /// </summary>
    private static (double X, double Y, double Scale, JsonElement? Legend) Registration(Slide heatmap, Slide slide)
    {
        var fallback = (0.0, 0.0, (double)slide.Width / heatmap.Width, (JsonElement?)null);
        var description = heatmap.Properties.FirstOrDefault(p => p.Key.EndsWith("ImageDescription", StringComparison.OrdinalIgnoreCase)).Value;
        if (description is null || !description.TrimStart().StartsWith('{'))
        {
            return fallback;
        }
        try
        {
            using var doc = JsonDocument.Parse(description);
            var root = doc.RootElement;
            var legend = root.Clone();
            if (root.TryGetProperty("registration", out var r) && r.TryGetProperty("slideWidth", out var sw) && r.TryGetProperty("slideHeight", out var sh)
                && sw.TryGetInt64(out var width) && sh.TryGetInt64(out var height) && (width != slide.Width || height != slide.Height))
            {
                throw new ArgumentException($"it was computed on a {width}x{height} slide, this slide is {slide.Width}x{slide.Height}; not shown");
            }
            if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("scale", out var s) && s.GetDouble() > 0)
            {
                var origin = r.TryGetProperty("origin", out var o) && o.GetArrayLength() == 2 ? (o[0].GetDouble(), o[1].GetDouble()) : (0, 0);
                return (origin.Item1, origin.Item2, s.GetDouble(), legend);
            }
            return fallback with { Item4 = legend };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return fallback;
        }
    }

    public void Dispose()
    {
        var all = _slides;
        _slides = FrozenDictionary<string, CatalogSlide>.Empty;
        foreach (var reader in all.Values.SelectMany(s => s.Readers))
        {
            reader.Retire();
        }
    }
}
