using Histoscale.Slides;
using Histoscale.Slides.Formats;

namespace Histoscale.Pipeline.Inputs;

/// <summary>
/// Expands the slide arguments of <c>infer</c>: a file or URI, a directory (its slide files, sorted), a glob in the
/// last path segment (<c>dir/*.svs</c>), or <c>@manifest.txt</c> (one entry per line, any of the former; blank lines
/// and <c>#</c> comments ignored; relative paths are relative to the manifest). Order is kept, duplicates dropped.
/// Directories and globs list only files with an extension a registered format reads (hidden files skipped); a folder
/// holding none but DICOM files is one slide per DICOM whole-slide series: the folder itself when it holds one, else
/// each series' base-level instance file (<see cref="DicomFolder.SlidePaths"/>); a path
/// named explicitly is kept whatever it is, even when it does not exist, so that it fails as a slide with its
/// reason (reported, others continue).
/// </summary>
public static class SlideInputs
{
    /// <summary>The slides named by <paramref name="arguments"/>, in argument order without duplicates; relative paths resolve against the current directory.</summary>
    /// <param name="arguments">Paths, URIs, folders, globs and @manifests.</param>
    /// <param name="formats">The formats slides are opened with (their extensions decide what scans list); default <see cref="FormatRegistry.Default"/>.</param>
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments, IReadOnlyList<ISlideFormat>? formats = null)
    {
        formats ??= FormatRegistry.Default;
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            foreach (var path in ExpandOne(argument, Directory.GetCurrentDirectory(), depth: 0, formats))
            {
                if (seen.Add(path))
                {
                    result.Add(path);
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Output name of a slide: its file name without the extension (".ome.tif", ".ome.tiff", ".ome.btf" count as one). A last dot-part of
    /// digits only is no extension: DICOM exports name files and folders by UID ("1.2.840.1.5.100"), and stripping
    /// ".100" would give two series the same outputs.
    /// </summary>
    public static string NameOf(string slide)
    {
        var file = slide.Contains("://", StringComparison.Ordinal) ? new Uri(slide.TrimEnd('/')).Segments[^1] : Path.GetFileName(Path.TrimEndingDirectorySeparator(slide));
        file = Uri.UnescapeDataString(file);
        return file.EndsWith(".ome.tif", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".ome.tiff", StringComparison.OrdinalIgnoreCase)
            || file.EndsWith(".ome.btf", StringComparison.OrdinalIgnoreCase)
            ? file[..file.LastIndexOf(".ome.", StringComparison.OrdinalIgnoreCase)]
            : StemOf(file);
    }

    /// <summary>A file name without its extension, where an all-digit last dot-part is not an extension (UIDs).</summary>
    public static string StemOf(string fileName)
    {
        var ext = Path.GetExtension(fileName);
        return ext.Length > 1 && !ext.AsSpan(1).ContainsAnyExceptInRange('0', '9') ? fileName : Path.GetFileNameWithoutExtension(fileName);
    }

    private static IEnumerable<string> ExpandOne(string argument, string baseDirectory, int depth, IReadOnlyList<ISlideFormat> formats)
    {
        if (string.IsNullOrWhiteSpace(argument))
        {
            yield break;
        }
        if (argument.StartsWith('@'))
        {
            if (depth > 4)
            {
                throw new PipelineConfigException($"{argument}: manifests nested too deep");
            }
            var manifest = Path.GetFullPath(argument[1..], baseDirectory);
            if (!File.Exists(manifest))
            {
                throw new PipelineConfigException($"{argument[1..]}: manifest not found");
            }
            var dir = Path.GetDirectoryName(manifest)!;
            foreach (var raw in File.ReadAllLines(manifest))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }
                foreach (var path in ExpandOne(line, dir, depth + 1, formats))
                {
                    yield return path;
                }
            }
            yield break;
        }
        if (argument.Contains("://", StringComparison.Ordinal))
        {
            yield return argument;
            yield break;
        }
        var full = Path.GetFullPath(argument, baseDirectory);
        if (Directory.Exists(full))
        {
            var files = Directory.EnumerateFiles(full).Where(f => IsSlideFile(f, formats)).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0 && FormatRegistry.IsDicomFolder(full))
            {
                // DICOM: one series is the folder; several are each named by one of their instance files.
                foreach (var series in DicomFolder.SlidePaths(full))
                {
                    yield return series;
                }
                yield break;
            }
            foreach (var file in files)
            {
                yield return file;
            }
            yield break;
        }
        var name = Path.GetFileName(full);
        if (name.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            var dir = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(dir))
            {
                throw new PipelineConfigException($"{argument}: folder {dir} does not exist");
            }
            foreach (var file in Directory.EnumerateFiles(dir, name).Where(f => IsSlideFile(f, formats)).Order(StringComparer.Ordinal))
            {
                yield return file;
            }
            yield break;
        }
        yield return full;
    }

    private static bool IsSlideFile(string path, IReadOnlyList<ISlideFormat> formats) =>
        FormatRegistry.IsSlideName(path, formats) && !Path.GetFileName(path).StartsWith('.');
}
