using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Histoscale.Slides;
using Histoscale.Slides.Formats;

namespace Histoscale.Archive.Catalog;

/// <summary>An overlay of a slide: a pyramidal image (an <c>infer</c> heatmap) placed on the slide's level-0 grid.</summary>
internal sealed record Overlay(string Id, string Name, string File, Slide Image, DeepZoomGeometry Geometry, double OriginX, double OriginY, double Scale, JsonElement? Legend);

/// <summary>A served slide: an opaque id (never a path), where it lies, and the open reader.</summary>
internal sealed record CatalogSlide(string Id, string Name, string Collection, string RelativePath, string File, Slide Slide, DeepZoomGeometry Geometry, IReadOnlyList<Overlay> Overlays);

/// <summary>One problem met while scanning, reported by the scan endpoint and the server log.</summary>
internal sealed record ScanProblem(string Collection, string Path, string Error);

/// <summary>
/// The slides of every collection, found by walking each root. Ids are hashes of (collection, relative path), so
/// they survive restarts and rescans and carry no path a client could bend. A file or folder reached through a
/// symbolic link counts only when its real location lies inside the root. A rescan swaps in a new catalog;
/// readers of the old one keep their slides until the swap, after which the replaced readers are closed.
/// </summary>
internal sealed class SlideCatalog : IDisposable
{
    private readonly ArchiveOptions _options;
    private readonly Lock _scanLock = new();
    private volatile FrozenDictionary<string, CatalogSlide> _slides = FrozenDictionary<string, CatalogSlide>.Empty;

    public SlideCatalog(ArchiveOptions options)
    {
        _options = options;
    }

    public IEnumerable<CatalogSlide> All => _slides.Values.OrderBy(s => s.Collection, StringComparer.Ordinal).ThenBy(s => s.RelativePath, StringComparer.Ordinal);

    public IReadOnlyList<string> Collections => [.. _options.Collections.Select(c => c.Name)];

    public bool TryGet(string id, out CatalogSlide slide) => _slides.TryGetValue(id, out slide!);

    /// <summary>Rescans the given collections (all when null); returns the slide count and the problems met.</summary>
    public (int Slides, IReadOnlyList<ScanProblem> Problems) Scan(IReadOnlyCollection<string>? collections = null)
    {
        lock (_scanLock)
        {
            var old = _slides;
            var problems = new List<ScanProblem>();
            var next = new Dictionary<string, CatalogSlide>(StringComparer.Ordinal);
            var heatmaps = FindHeatmaps(problems);
            var reused = new HashSet<string>(StringComparer.Ordinal);
            var staleOverlays = new List<Overlay>();
            foreach (var collection in _options.Collections)
            {
                if (collections is not null && !collections.Contains(collection.Name))
                {
                    foreach (var kept in old.Values.Where(s => s.Collection == collection.Name))
                    {
                        next[kept.Id] = kept;
                        reused.Add(kept.Id);
                    }
                    continue;
                }
                foreach (var (relative, file) in SafeFiles(collection, problems))
                {
                    var id = IdOf(collection.Name, relative);
                    if (old.TryGetValue(id, out var existing) && existing.File == file && Unchanged(existing))
                    {
                        var found = heatmaps.GetValueOrDefault(Path.GetFileNameWithoutExtension(relative)) ?? [];
                        if (SameOverlays(existing.Overlays, found))
                        {
                            next[id] = existing;
                            reused.Add(id);
                            continue;
                        }
                        // The slide stays open; its overlays changed (a new infer run): open the new set, close the old after the swap.
                        next[id] = existing with { Overlays = OpenOverlays(Path.GetFileNameWithoutExtension(relative), found, existing.Slide, problems, collection.Name) };
                        staleOverlays.AddRange(existing.Overlays);
                        reused.Add(id);
                        continue;
                    }
                    try
                    {
                        var slide = Slide.Open(file, _options.SlideOptions);
                        var name = Path.GetFileNameWithoutExtension(relative);
                        var overlays = OpenOverlays(name, heatmaps.GetValueOrDefault(name) ?? [], slide, problems, collection.Name);
                        next[id] = new CatalogSlide(id, Path.GetFileName(relative), collection.Name, relative, file, slide, DeepZoomGeometry.For(slide), overlays);
                    }
                    catch (Exception ex) when (ex is SlideException or IOException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
                    {
                        problems.Add(new ScanProblem(collection.Name, relative, ex.Message));
                    }
                }
            }
            _slides = next.ToFrozenDictionary(StringComparer.Ordinal);
            foreach (var gone in old.Values.Where(s => !reused.Contains(s.Id)))
            {
                Close(gone);
            }
            foreach (var overlay in staleOverlays)
            {
                overlay.Image.Dispose();
            }
            return (next.Count, problems);
        }
    }

    private static bool Unchanged(CatalogSlide s)
    {
        try
        {
            return s.Slide.SourceIdentity is not { } identity || new FileInfo(s.File).Length == identity.Length;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool SameOverlays(IReadOnlyList<Overlay> open, List<(string Relative, string File)> found)
    {
        if (open.Count != found.Count)
        {
            return false;
        }
        foreach (var o in open)
        {
            if (!found.Any(f => f.File == o.File) || o.Image.SourceIdentity is not { } identity || new FileInfo(o.File) is not { Exists: true } info || info.Length != identity.Length)
            {
                return false;
            }
        }
        return true;
    }

    internal static string IdOf(string collection, string relative) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(collection + "\n" + relative)))[..24];

    /// <summary>Slide files under the collection's root whose real path stays inside the root's real path.</summary>
    private IEnumerable<(string Relative, string File)> SafeFiles(ArchiveCollection collection, List<ScanProblem> problems)
    {
        string root;
        try
        {
            root = RealPath(collection.Root);
        }
        catch (IOException ex)
        {
            problems.Add(new ScanProblem(collection.Name, collection.Root, ex.Message));
            yield break;
        }
        if (!Directory.Exists(root))
        {
            problems.Add(new ScanProblem(collection.Name, collection.Root, "the collection's folder does not exist"));
            yield break;
        }
        var enumeration = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.None, ReturnSpecialDirectories = false };
        var found = new List<(string, string)>();
        foreach (var path in Directory.EnumerateFiles(root, "*", enumeration))
        {
            if (!FormatRegistry.IsSlideName(path, _options.SlideOptions.Formats) || path.EndsWith(".heatmap.tif", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
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
                problems.Add(new ScanProblem(collection.Name, relative, "links outside the collection's folder; not served"));
                continue;
            }
            found.Add((relative, real));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        foreach (var f in found)
        {
            yield return f;
        }
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

    /// <summary><c>NAME.heatmap.tif</c> files under the results folder, by NAME.</summary>
    private Dictionary<string, List<(string Relative, string File)>> FindHeatmaps(List<ScanProblem> problems)
    {
        var map = new Dictionary<string, List<(string, string)>>(StringComparer.Ordinal);
        if (_options.ResultsDirectory is not { } results)
        {
            return map;
        }
        if (!Directory.Exists(results))
        {
            problems.Add(new ScanProblem("(results)", results, "the results folder does not exist"));
            return map;
        }
        var root = RealPath(results);
        foreach (var path in Directory.EnumerateFiles(root, "*.heatmap.tif", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            var real = RealPath(path);
            if (!IsInside(root, real))
            {
                continue;
            }
            var name = Path.GetFileName(path)[..^".heatmap.tif".Length];
            if (!map.TryGetValue(name, out var list))
            {
                map[name] = list = [];
            }
            list.Add((Path.GetRelativePath(root, path).Replace('\\', '/'), real));
        }
        return map;
    }

    private List<Overlay> OpenOverlays(string name, List<(string Relative, string File)> files, Slide slide, List<ScanProblem> problems, string collection)
    {
        var overlays = new List<Overlay>();
        foreach (var (relative, file) in files.OrderBy(f => f.Relative, StringComparer.Ordinal))
        {
            try
            {
                var image = Slide.Open(file, _options.SlideOptions);
                var (ox, oy, scale, legend) = Registration(image, slide);
                overlays.Add(new Overlay(IdOf("results", relative), relative, file, image, DeepZoomGeometry.For(image), ox, oy, scale, legend));
            }
            catch (Exception ex) when (ex is SlideException or IOException or ArgumentException)
            {
                problems.Add(new ScanProblem(collection, relative, $"overlay of '{name}': {ex.Message}"));
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
            if (root.TryGetProperty("registration", out var r) && r.TryGetProperty("scale", out var s) && s.GetDouble() > 0)
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

    private static void Close(CatalogSlide slide)
    {
        slide.Slide.Dispose();
        foreach (var o in slide.Overlays)
        {
            o.Image.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var s in _slides.Values)
        {
            Close(s);
        }
        _slides = FrozenDictionary<string, CatalogSlide>.Empty;
    }
}
