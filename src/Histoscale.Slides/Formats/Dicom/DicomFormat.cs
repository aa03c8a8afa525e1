using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// DICOM whole-slide images (Supplement 145, VL Whole Slide Microscopy Image Storage): a series of Part 10
/// instances. The probed file is one instance; its siblings of the same Series Instance UID are found in its
/// folder (other files there are read only up to their series UID). A folder given as the slide is its one series
/// (<see cref="OpenFolder"/>); a folder of several series lists them (<see cref="ListFolder"/>), each opened by its
/// UID (<see cref="OpenSeries"/>). VOLUME
/// instances make the levels (one total pixel matrix size per level, largest first), LABEL, OVERVIEW and THUMBNAIL
/// the associated images "label", "macro" and "thumbnail", as OpenSlide names them.
/// </summary>
internal sealed class DicomFormat : ISlideFormat
{
    public string Name => "dicom";

    /// <summary>
    /// None: a series is several files, so folder scans must not list each instance as a slide; a DICOM slide is
    /// named by its folder or one of its files.
    /// </summary>
    public IReadOnlyList<string> Extensions { get; } = [];

    public SlideLayout? TryOpen(SlideProbe probe)
    {
        var source = probe.Source;
        if (!DicomParser.HasMagic(source))
        {
            return probe.HasExtension(".dcm")
                ? throw new SlideException(source.Name, "not a DICOM Part 10 file (no \"DICM\" after the 128-byte preamble)")
                : null;
        }
        var primary = DicomInstance.Open(source, probe.JpegSimd);
        var owned = new List<IDisposable>();
        try
        {
            var instances = new List<DicomInstance> { primary };
            SourceIdentity? identity = null;
            var path = primary.Name;
            if (!path.Contains("://", StringComparison.Ordinal) && File.Exists(path) && Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
            {
                // Its siblings of the same series (local files only): the others are read only up to their series UID.
                // An instance without a Series Instance UID has none: other UID-less files are unrelated exports.
                var full = Path.GetFullPath(path);
                var listing = primary.SeriesUid.Length == 0 ? null : ListFolder(folder, null, primary.SeriesUid, full);
                var siblings = listing?.Series.FirstOrDefault();
                if ((siblings?.Problems.FirstOrDefault() ?? listing?.Unreadable.FirstOrDefault()) is { } problem)
                {
                    throw Fresh(problem);
                }
                foreach (var (file, length, modified, parsed) in siblings?.Instances ?? [])
                {
                    instances.Add(OpenListed(file, length, modified, parsed, probe.JpegSimd, owned));
                }
                var self = new FileInfo(full);
                identity = IdentityOf([(full, self.Length, self.LastWriteTimeUtc), .. (siblings?.Instances ?? []).Select(i => (i.Path, i.Length, i.Modified))]);
            }
            return Layout(primary, instances, owned, identity);
        }
        catch
        {
            foreach (var o in owned)
            {
                o.Dispose();
            }
            throw;
        }
    }

    /// <summary>The first Part 10 file (by name) in <paramref name="folder"/>: what a folder given as a slide opens through.</summary>
    public static string FirstInstanceIn(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            if (IsDirectoryFile(file))
            {
                continue;
            }
            using var source = new LocalFileSource(file);
            if (DicomParser.HasMagic(source))
            {
                return file;
            }
        }
        throw new SlideException(folder, "folder holds no DICOM Part 10 files (a folder is read as one DICOM whole-slide series)");
    }

    /// <summary>
    /// The identity of a local DICOM slide without opening it (what <see cref="ByteSources.Identify"/> gives, and what a
    /// slide opened from the same path reports): for a folder, its one WSI series' instance files; for an instance
    /// file, it and its folder's other WSI instances of the same series. Each file's SOP class and series come from
    /// its first bytes (<see cref="DicomParser.ParseHeader"/>); the identity is <see cref="IdentityOf"/> of those files,
    /// so an instance added, removed, replaced or rewritten changes it, and a DICOMDIR, a CT slice or another series
    /// beside them does not. A folder of several series gives all their instances (opening it is refused anyway).
    /// </summary>
    public static SourceIdentity LocalIdentity(string path)
    {
        var isFolder = Directory.Exists(path);
        var folder = isFolder ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? series = null;
        var files = new List<string>();
        if (!isFolder)
        {
            files.Add(Path.GetFullPath(path));
            using var source = new LocalFileSource(path);
            series = DicomParser.ParseHeader(source).Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "";
        }
        var bySeries = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var file in Candidates(folder, null, isFolder ? null : Path.GetFullPath(path)))
        {
            using var source = new LocalFileSource(file);
            if (!DicomParser.HasMagic(source))
            {
                continue;
            }
            string uid;
            try
            {
                var head = DicomParser.ParseHeader(source);
                if (SopClassOf(head) != DicomInstance.WsiSopClass)
                {
                    continue;
                }
                uid = head.Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "";
            }
            catch (SlideException)
            {
                uid = "\0unreadable"; // counted with every series: opening fails on it, and a repair changes the identity
            }
            if (!bySeries.TryGetValue(uid, out var list))
            {
                bySeries[uid] = list = [];
            }
            list.Add(file);
        }
        var unreadable = bySeries.GetValueOrDefault("\0unreadable") ?? [];
        if (series is not null)
        {
            files.AddRange(bySeries.GetValueOrDefault(series) ?? []);
            files.AddRange(unreadable);
        }
        else if (bySeries.Count == 0)
        {
            throw new SlideException(folder, "folder holds no DICOM whole-slide instances (a folder is read as one DICOM whole-slide series)");
        }
        else
        {
            files.AddRange(bySeries.Values.SelectMany(f => f));
        }
        return IdentityOf(files.Select(f => new FileInfo(f)).Select(i => (i.FullName, i.Length, i.LastWriteTimeUtc)));
    }

    /// <summary>
    /// The identity of a set of instance files: total size, newest modification time, and a SHA-256 of every file's
    /// name, size and modification time in name order (in <see cref="SourceIdentity.EndsSha256"/>).
    /// </summary>
    internal static SourceIdentity IdentityOf(IEnumerable<(string Path, long Length, DateTime Modified)> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        DateTime newest = DateTime.MinValue;
        foreach (var (path, size, modified) in files.DistinctBy(f => f.Path).OrderBy(f => Path.GetFileName(f.Path), StringComparer.Ordinal))
        {
            length += size;
            newest = modified > newest ? modified : newest;
            sha.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}\0{size}\0{modified.Ticks}\n")));
        }
        return new SourceIdentity
        {
            Length = length,
            Modified = new DateTimeOffset(DateTime.SpecifyKind(newest, DateTimeKind.Utc), TimeSpan.Zero),
            EndsSha256 = Convert.ToHexStringLower(sha.GetHashAndReset()),
        };
    }

    /// <summary>
    /// Whether <paramref name="pathOrUri"/> is a DICOMweb series URL: http(s) whose path ends in
    /// <c>/studies/{StudyUID}/series/{SeriesUID}</c> (a trailing slash allowed).
    /// </summary>
    public static bool IsDicomWebSeriesUrl(string pathOrUri, out Uri url)
    {
        url = null!;
        if (!Uri.TryCreate(pathOrUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0)
        {
            return false;
        }
        var segments = uri.AbsolutePath.TrimEnd('/').Split('/');
        var n = segments.Length;
        if (n < 5 || segments[n - 4] != "studies" || segments[n - 2] != "series" || segments[n - 3].Length == 0 || segments[n - 1].Length == 0)
        {
            return false;
        }
        url = uri;
        return true;
    }

    /// <summary>
    /// Opens a DICOMweb series as a slide: the instances' data sets from its WADO-RS metadata, frames by WADO-RS
    /// frame requests (<see cref="DicomWebFrames"/>). Instances of other SOP classes are skipped; an instance whose
    /// metadata does not give its transfer syntax (0002,0010) has its first frame asked for as stored, and the answer
    /// says. The layout owns <paramref name="series"/> from the moment this is called.
    /// </summary>
    public static SlideLayout OpenDicomWeb(IDicomWebSeries series, byte[] metadata, Codecs.Jpeg.JpegSimd simd)
    {
        var frames = new DicomWebFrames(series);
        try
        {
            var datasets = DicomJson.ParseInstances(series.Name, metadata);
            var wsi = new List<(DicomDataset Dataset, string Uid)>();
            var others = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var ds in datasets)
            {
                var sopClass = ds.GetString(DicomTags.SopClassUid) ?? "";
                var uid = ds.GetString(DicomTags.SopInstanceUid) ?? "";
                if (sopClass != DicomInstance.WsiSopClass || uid.Length == 0)
                {
                    others.Add(sopClass.Length == 0 ? "(none)" : sopClass);
                    continue;
                }
                wsi.Add((ds, uid));
            }
            // Instances whose metadata gives no transfer syntax: their first frames, asked for as stored, all at once.
            var syntaxes = Task.WhenAll(wsi.Select(w => w.Dataset.GetString(DicomTags.TransferSyntaxUid) is { Length: > 0 } known
                ? Task.FromResult<string?>(known)
                : frames.ProbeTransferSyntaxAsync(w.Uid, 1))).GetAwaiter().GetResult();
            var instances = new List<DicomInstance>();
            for (var i = 0; i < wsi.Count; i++)
            {
                var (ds, uid) = wsi[i];
                if (string.IsNullOrEmpty(syntaxes[i]))
                {
                    throw new SlideException(frames.FrameUrl(uid, 1), "the series metadata gives no Transfer Syntax UID (0002,0010) for this instance, and the server's answer for its frame 1 names none either");
                }
                var file = new DicomFile { Name = $"{series.Name.TrimEnd('/')}/instances/{uid}", TransferSyntax = syntaxes[i]!, Meta = new DicomDataset(), Dataset = ds };
                instances.Add(DicomInstance.OpenRemote(file, frames, simd));
            }
            if (instances.Count == 0)
            {
                throw new SlideException(series.Name, $"DICOMweb series holds no VL Whole Slide Microscopy instances ({DicomInstance.WsiSopClass}): {datasets.Count} instance(s){(others.Count > 0 ? $" of SOP class {string.Join(", ", others)}" : "")}");
            }
            return Layout(instances[0], instances, [frames], null);
        }
        catch
        {
            frames.Dispose();
            throw;
        }
    }

    /// <summary>What a DICOMweb series is: its metadata's size and SHA-256 (any instance added, removed or changed changes it).</summary>
    public static SourceIdentity DicomWebIdentity(byte[] metadata) => new()
    {
        Length = metadata.Length,
        EndsSha256 = Convert.ToHexStringLower(SHA256.HashData(metadata)),
    };

    /// <summary>
    /// Opens a folder as one DICOM whole-slide series, parsing each file once: files without "DICM", dot-files, the
    /// media directory (DICOMDIR) and instances of other SOP classes (a CT slice, a presentation state) are skipped;
    /// a file that claims to be Part 10 but cannot be parsed fails the folder, naming it. A folder holding instances of
    /// several WSI series is refused, naming each series UID (open one of its instance files, or the series by its UID
    /// with <see cref="Slide.OpenDicomSeries(string, string, SlideOptions?)"/>, to read that series).
    /// Returns the primary instance's source (the slide's) and the layout, which owns every other source.
    /// </summary>
    public static (IByteSource Source, SlideLayout Layout) OpenFolder(string folder, Codecs.Jpeg.JpegSimd simd)
    {
        var listing = ListFolder(folder, null, null, null);
        if (listing.Unreadable.Count > 0)
        {
            throw Fresh(listing.Unreadable[0]);
        }
        if (listing.Series.Count == 0)
        {
            throw new SlideException(folder, $"folder holds no DICOM whole-slide instances (SOP class {DicomInstance.WsiSopClass}){(listing.Skipped > 0 ? $"; {listing.Skipped} other DICOM file(s) skipped" : "")}");
        }
        if (listing.Series.Count > 1)
        {
            throw new SlideException(folder, $"folder holds {listing.Series.Count} DICOM whole-slide series ({string.Join(", ", listing.Series.Select(g => $"{(g.SeriesInstanceUid.Length == 0 ? "(no Series Instance UID)" : g.SeriesInstanceUid)}: {g.Files.Count} instance(s){(g.Files.Count > 0 ? $", e.g. {Path.GetFileName(g.Files[0])}" : "")}"))}); a folder is read as one series: name one of its instance files to open that series");
        }
        return OpenSeries(listing.Series[0], simd);
    }

    /// <summary>
    /// Opens one series of a folder listing, reusing the listing's parse of each instance file (a file changed since is
    /// parsed again). Fails, naming the file, when an instance of the series (or a Part 10 file of the folder whose
    /// series cannot be told) cannot be parsed: a series is never served with an instance missing.
    /// Returns the primary instance's source (the slide's) and the layout, which owns every other source.
    /// </summary>
    public static (IByteSource Source, SlideLayout Layout) OpenSeries(DicomSeriesInfo series, Codecs.Jpeg.JpegSimd simd)
    {
        if (series.Problems.Count > 0)
        {
            throw Fresh(series.Problems[0]);
        }
        var owned = new List<IDisposable>();
        try
        {
            var instances = new List<DicomInstance>();
            // The base level's instance first: it is the slide's source (its name, what errors without a level name).
            foreach (var (path, length, modified, parsed) in series.Instances.OrderBy(i => i.Path == series.BaseFile ? 0 : 1))
            {
                instances.Add(OpenListed(path, length, modified, parsed, simd, owned));
            }
            var primary = (IByteSource)owned[0];
            owned.RemoveAt(0);
            try
            {
                return (primary, Layout(instances[0], instances, owned, series.Identity));
            }
            catch
            {
                primary.Dispose();
                throw;
            }
        }
        catch
        {
            foreach (var o in owned)
            {
                o.Dispose();
            }
            throw;
        }
    }

    /// <summary>A new exception saying what a listing's stored one says (a stored exception is not thrown again, possibly on several threads).</summary>
    private static SlideException Fresh(SlideException problem) => new(problem.File, problem.Cause, inner: problem.InnerException) { IsCorruptData = problem.IsCorruptData };

    /// <summary>Opens a listed instance file (its source into <paramref name="owned"/>), reusing its parse unless the file changed since.</summary>
    private static DicomInstance OpenListed(string path, long length, DateTime modified, DicomFile parsed, Codecs.Jpeg.JpegSimd simd, List<IDisposable> owned)
    {
        var source = new LocalFileSource(path);
        owned.Add(source);
        var info = new FileInfo(path);
        return DicomInstance.Open(source, info.Length == length && info.LastWriteTimeUtc == modified ? parsed : DicomParser.Parse(source), simd);
    }

    /// <summary>The media directory file of a DICOM file set (PS3.10 names it DICOMDIR): an index, never an image.</summary>
    private static bool IsDirectoryFile(string path) => Path.GetFileName(path).Equals("DICOMDIR", StringComparison.OrdinalIgnoreCase);

    private static string? SopClassOf(DicomFile file) => file.Dataset.GetString(DicomTags.SopClassUid) ?? file.Meta.GetString(0x0002_0002);

    /// <summary>The files of <paramref name="folder"/> a series may hold, name order: not dot-files, not the DICOMDIR, not <paramref name="except"/> (a full path), only those <paramref name="include"/> accepts.</summary>
    private static IEnumerable<string> Candidates(string folder, Func<string, bool>? include, string? except) =>
        Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !IsDirectoryFile(f) && (except is null || Path.GetFullPath(f) != except) && (include is null || include(f)));

    /// <summary>
    /// The WSI series in <paramref name="folder"/>, each Part 10 file parsed once. With <paramref name="onlySeries"/>,
    /// files are first read up to their Series Instance UID and only that series' are parsed in full. A file whose
    /// full parse fails is a problem of the series its first bytes name (when they name a WSI one), else of the folder
    /// (<see cref="DicomFolderListing.Unreadable"/>, a problem of every series in it).
    /// </summary>
    internal static DicomFolderListing ListFolder(string folder, Func<string, bool>? include, string? onlySeries, string? except)
    {
        if (!Directory.Exists(folder))
        {
            throw new SlideException(folder, "folder does not exist");
        }
        var instances = new Dictionary<string, List<(string, long, DateTime, DicomFile)>>(StringComparer.Ordinal);
        var errors = new Dictionary<string, List<SlideException>>(StringComparer.Ordinal);
        var unreadable = new List<SlideException>();
        var skipped = 0;
        foreach (var path in Candidates(folder, include, except))
        {
            using var source = new LocalFileSource(path);
            if (!DicomParser.HasMagic(source))
            {
                continue;
            }
            var info = new FileInfo(path);
            DicomFile? head = null;
            if (onlySeries is not null)
            {
                try
                {
                    head = DicomParser.ParseHeader(source);
                }
                catch (SlideException ex)
                {
                    unreadable.Add(Unreadable(ex, null));
                    continue;
                }
                if (SopClassOf(head) != DicomInstance.WsiSopClass || (head.Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "") != onlySeries)
                {
                    skipped++;
                    continue;
                }
            }
            DicomFile parsed;
            try
            {
                parsed = DicomParser.Parse(source);
            }
            catch (SlideException ex)
            {
                try
                {
                    head ??= DicomParser.ParseHeader(source);
                }
                catch (SlideException)
                {
                    unreadable.Add(Unreadable(ex, null));
                    continue;
                }
                if (SopClassOf(head) is { } sop && sop != DicomInstance.WsiSopClass)
                {
                    skipped++; // another SOP class: not ours to read, broken or not
                    continue;
                }
                if (head.Dataset.GetString(DicomTags.SeriesInstanceUid) is not { Length: > 0 } of)
                {
                    unreadable.Add(Unreadable(ex, null));
                    continue;
                }
                if (!errors.TryGetValue(of, out var bad))
                {
                    errors[of] = bad = [];
                }
                bad.Add(Unreadable(ex, of));
                continue;
            }
            if (SopClassOf(parsed) != DicomInstance.WsiSopClass)
            {
                skipped++;
                continue;
            }
            var uid = parsed.Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "";
            if (!instances.TryGetValue(uid, out var list))
            {
                instances[uid] = list = [];
            }
            list.Add((path, info.Length, info.LastWriteTimeUtc, parsed));
        }
        var series = new List<DicomSeriesInfo>();
        foreach (var uid in instances.Keys.Concat(errors.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            var problems = (errors.GetValueOrDefault(uid) ?? []).Concat(unreadable).ToList();
            series.Add(new DicomSeriesInfo(folder, uid, instances.GetValueOrDefault(uid) ?? [], problems));
        }
        return new DicomFolderListing(folder, series, skipped, unreadable);
    }

    private static SlideException Unreadable(SlideException ex, string? series)
    {
        var cause = series is null
            ? $"{ex.Cause} (a DICOM Part 10 file whose series cannot be told, so no series of its folder is opened without it)"
            : $"{ex.Cause} (an instance of DICOM series {series}, which is not opened without it)";
        return new SlideException(ex.File, cause, inner: ex) { IsCorruptData = ex.IsCorruptData };
    }

    private static SlideLayout Layout(DicomInstance primary, List<DicomInstance> instances, List<IDisposable> owned, SourceIdentity? identity)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        instances = [.. instances.Where(i => i.SopInstanceUid.Length == 0 || seen.Add(i.SopInstanceUid))];
        var volumes = instances.Where(i => i.Flavor is "VOLUME" or "").ToList();
        if (volumes.Count == 0)
        {
            throw new SlideException(primary.Name, $"series {primary.SeriesUid} has no VOLUME instances (Image Type value 3) in this folder: no pyramid levels");
        }
        var groups = volumes.GroupBy(i => (i.TotalColumns, i.TotalRows)).OrderByDescending(g => g.Key.TotalColumns).ThenByDescending(g => g.Key.TotalRows).ToList();
        var levels = new List<ITiledImage>();
        for (var l = 0; l < groups.Count; l++)
        {
            levels.Add(DicomTiledImage.Build([.. groups[l]], l, $"level {l}"));
        }
        var associated = new Dictionary<string, ITiledImage>(StringComparer.Ordinal);
        foreach (var (flavor, name) in new[] { ("LABEL", "label"), ("OVERVIEW", "macro"), ("THUMBNAIL", "thumbnail") })
        {
            var of = instances.Where(i => i.Flavor == flavor).OrderBy(i => i.InstanceNumber).ThenBy(i => i.Name, StringComparer.Ordinal).ToList();
            if (of.Count > 0)
            {
                // One image: the first instance's matrix (with its concatenation parts, if any).
                var first = of[0];
                associated[name] = DicomTiledImage.Build([.. of.Where(i => i.TotalColumns == first.TotalColumns && i.TotalRows == first.TotalRows)], null, name);
            }
        }
        var baseInstance = groups[0].OrderBy(i => i.ConcatenationOffset).First();
        var ds = baseInstance.File.Dataset;
        var (mppX, mppY) = Mpp(ds, baseInstance);
        var objective = ds.FirstItem(DicomTags.OpticalPathSequence)?.GetDouble(DicomTags.ObjectiveLensPower);
        return new SlideLayout
        {
            Vendor = "dicom",
            Levels = levels,
            AssociatedImages = associated,
            Properties = Properties(baseInstance, instances.Count),
            MppX = mppX,
            MppY = mppY,
            ObjectivePower = objective is > 0 ? objective : null,
            Owned = owned,
            Identity = identity,
        };
    }

    /// <summary>
    /// µm per pixel from Pixel Spacing (mm; row spacing — the vertical one — first, then column spacing) in the shared
    /// Pixel Measures functional group; else from the Imaged Volume Width/Height (mm) over the matrix.
    /// </summary>
    private static (double? X, double? Y) Mpp(DicomDataset ds, DicomInstance instance)
    {
        var measures = ds.FirstItem(DicomTags.SharedFunctionalGroupsSequence)?.FirstItem(DicomTags.PixelMeasuresSequence);
        if (measures?.GetDouble(DicomTags.PixelSpacing, 0) is > 0 and var rowSpacing && measures.GetDouble(DicomTags.PixelSpacing, 1) is > 0 and var columnSpacing)
        {
            return (columnSpacing * 1000, rowSpacing * 1000);
        }
        var w = ds.GetDouble(DicomTags.ImagedVolumeWidth);
        var h = ds.GetDouble(DicomTags.ImagedVolumeHeight);
        return (w is > 0 ? w * 1000 / instance.TotalColumns : null, h is > 0 ? h * 1000 / instance.TotalRows : null);
    }

    private static Dictionary<string, string> Properties(DicomInstance baseInstance, int instanceCount)
    {
        var ds = baseInstance.File.Dataset;
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dicom.TransferSyntaxUID"] = baseInstance.File.TransferSyntax,
            ["dicom.instance-count"] = instanceCount.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (tag, keyword) in DicomTags.PropertyKeywords)
        {
            if (ds.Get(tag) is null)
            {
                continue;
            }
            string? value = tag switch
            {
                DicomTags.ImagedVolumeWidth or DicomTags.ImagedVolumeHeight => ds.GetDouble(tag) is { } d ? TiffProperties.FormatG(d) : null,
                DicomTags.TotalPixelMatrixColumns or DicomTags.TotalPixelMatrixRows or DicomTags.Columns or DicomTags.Rows => ds.GetInteger(tag)?.ToString(CultureInfo.InvariantCulture),
                _ => ds.GetString(tag),
            };
            if (!string.IsNullOrEmpty(value))
            {
                p["dicom." + keyword] = value;
            }
        }
        if (ds.FirstItem(DicomTags.SharedFunctionalGroupsSequence)?.FirstItem(DicomTags.PixelMeasuresSequence)?.GetString(DicomTags.PixelSpacing) is { Length: > 0 } spacing)
        {
            p["dicom.PixelSpacing"] = spacing;
        }
        if (ds.FirstItem(DicomTags.OpticalPathSequence)?.GetString(DicomTags.ObjectiveLensPower) is { Length: > 0 } power)
        {
            p["dicom.ObjectiveLensPower"] = power;
        }
        return p;
    }
}
