using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// DICOM whole-slide images (Supplement 145, VL Whole Slide Microscopy Image Storage): a series of Part 10
/// instances. The probed file is one instance; its siblings of the same Series Instance UID are found in its
/// folder (a folder given as the slide opens through its first instance, <see cref="FirstInstanceIn"/>). VOLUME
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
            instances.AddRange(Siblings(primary, probe.JpegSimd, owned));
            return Layout(primary, instances, owned);
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
    /// The identity of a folder read as one DICOM series, from all its instance files (those <see cref="FirstInstanceIn"/>
    /// would consider): total size, newest modification time, and a SHA-256 of every instance's name, size and
    /// modification time in name order (in <see cref="SourceIdentity.EndsSha256"/>), so that an instance added,
    /// removed, replaced or rewritten changes it. <see cref="ByteSources.Identify"/> and a slide opened from the folder
    /// both give this.
    /// </summary>
    public static SourceIdentity SeriesIdentity(string folder)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        DateTime newest = DateTime.MinValue;
        var any = false;
        foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            using (var source = new LocalFileSource(file))
            {
                if (!DicomParser.HasMagic(source))
                {
                    continue;
                }
            }
            any = true;
            var info = new FileInfo(file);
            var modified = info.LastWriteTimeUtc;
            length += info.Length;
            newest = modified > newest ? modified : newest;
            sha.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{info.Name}\0{info.Length}\0{modified.Ticks}\n")));
        }
        if (!any)
        {
            throw new SlideException(folder, "folder holds no DICOM Part 10 files (a folder is read as one DICOM whole-slide series)");
        }
        return new SourceIdentity
        {
            Length = length,
            Modified = new DateTimeOffset(newest, TimeSpan.Zero),
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
            return Layout(instances[0], instances, [frames]);
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
    /// several WSI series is refused, naming each series UID (open one of its instance files to read that series).
    /// Returns the primary instance's source (the slide's) and the layout, which owns every other source.
    /// </summary>
    public static (IByteSource Source, SlideLayout Layout) OpenFolder(string folder, Codecs.Jpeg.JpegSimd simd)
    {
        var owned = new List<IDisposable>();
        try
        {
            var wsi = new List<(LocalFileSource Source, DicomFile File)>();
            var skipped = 0;
            foreach (var (source, file) in WsiFiles(folder, null, null, owned, () => skipped++))
            {
                wsi.Add((source, file));
            }
            if (wsi.Count == 0)
            {
                throw new SlideException(folder, $"folder holds no DICOM whole-slide instances (SOP class {DicomInstance.WsiSopClass}){(skipped > 0 ? $"; {skipped} other DICOM file(s) skipped" : "")}");
            }
            var series = wsi.GroupBy(w => w.File.Dataset.GetString(DicomTags.SeriesInstanceUid) ?? "").ToList();
            if (series.Count > 1)
            {
                throw new SlideException(folder, $"folder holds {series.Count} DICOM whole-slide series ({string.Join(", ", series.Select(g => $"{(g.Key.Length == 0 ? "(no Series Instance UID)" : g.Key)}: {g.Count()} instance(s), e.g. {Path.GetFileName(g.First().Source.Name)}"))}); a folder is read as one series: name one of its instance files to open that series");
            }
            var instances = wsi.Select(w => DicomInstance.Open(w.Source, w.File, simd)).ToList();
            var primary = wsi[0].Source;
            owned.Remove(primary);
            try
            {
                return (primary, Layout(instances[0], instances, owned));
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

    /// <summary>The media directory file of a DICOM file set (PS3.10 names it DICOMDIR): an index, never an image.</summary>
    private static bool IsDirectoryFile(string path) => Path.GetFileName(path).Equals("DICOMDIR", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The WSI instances in <paramref name="folder"/> (name order), each parsed once, of series <paramref name="seriesUid"/>
    /// (any when null), other than <paramref name="except"/>; their sources go into <paramref name="owned"/>.
    /// </summary>
    private static IEnumerable<(LocalFileSource Source, DicomFile File)> WsiFiles(string folder, string? seriesUid, string? except, List<IDisposable> owned, Action? onSkipped = null)
    {
        foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            if ((except is not null && Path.GetFullPath(file) == except) || Path.GetFileName(file).StartsWith('.') || IsDirectoryFile(file))
            {
                continue;
            }
            var source = new LocalFileSource(file);
            if (!DicomParser.HasMagic(source))
            {
                source.Dispose();
                continue;
            }
            DicomFile parsed;
            try
            {
                parsed = DicomParser.Parse(source);
            }
            catch
            {
                source.Dispose();
                throw;
            }
            if ((seriesUid is not null && parsed.Dataset.GetString(DicomTags.SeriesInstanceUid) != seriesUid)
                || (parsed.Dataset.GetString(DicomTags.SopClassUid) ?? parsed.Meta.GetString(0x0002_0002)) != DicomInstance.WsiSopClass)
            {
                source.Dispose();
                if (seriesUid is null)
                {
                    onSkipped?.Invoke();
                }
                continue;
            }
            owned.Add(source);
            yield return (source, parsed);
        }
    }

    /// <summary>The other instances of the primary's series in its folder (local files only), each parsed once.</summary>
    private static IEnumerable<DicomInstance> Siblings(DicomInstance primary, Codecs.Jpeg.JpegSimd simd, List<IDisposable> owned)
    {
        var path = primary.Name;
        if (path.Contains("://", StringComparison.Ordinal) || !File.Exists(path) || Path.GetDirectoryName(Path.GetFullPath(path)) is not { } folder)
        {
            return [];
        }
        return WsiFiles(folder, primary.SeriesUid, Path.GetFullPath(path), owned).Select(w => DicomInstance.Open(w.Source, w.File, simd));
    }

    private static SlideLayout Layout(DicomInstance primary, List<DicomInstance> instances, List<IDisposable> owned)
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
