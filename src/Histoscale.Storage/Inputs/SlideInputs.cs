using Histoscale.Slides;
using Histoscale.Slides.Formats;

namespace Histoscale.Storage.Inputs;

/// <summary>
/// Turns one input argument into the slides it names, for commands that process a set (<c>infer</c>):
/// a bucket/container prefix (s3://b/dir/, az://c/dir/, gs://b/dir/ — a trailing '/' or an empty key), a local
/// folder, a .txt manifest (one path or URI per line; '#' comments, blank lines; relative paths are relative
/// to the manifest; a line may itself be a prefix or folder), or else a single slide. Prefixes and folders keep
/// only files with an extension a registered format reads (<see cref="FormatRegistry"/>); results are sorted
/// (ordinal) so a run's order never depends on the store.
/// </summary>
public static class SlideInputs
{
    /// <summary>The slides <paramref name="arg"/> names (see the type's remarks for the forms it accepts), as paths or URIs; scans keep the registry's extensions.</summary>
    /// <param name="arg">A slide, folder, bucket prefix or .txt manifest.</param>
    /// <param name="store">Lists prefixes and reads manifests that live in a store.</param>
    /// <param name="cancellationToken">Cancels listing and manifest reads.</param>
    /// <exception cref="SlideException">A prefix or folder holds no slides.</exception>
    public static Task<IReadOnlyList<string>> ExpandAsync(string arg, ObjectStoreProvider store, CancellationToken cancellationToken = default) =>
        ExpandAsync(arg, store, FormatRegistry.Default, cancellationToken);

    /// <summary>As <see cref="ExpandAsync(string, ObjectStoreProvider, CancellationToken)"/>, listing what <paramref name="formats"/> read.</summary>
    /// <param name="arg">A slide, folder, bucket prefix or .txt manifest.</param>
    /// <param name="store">Lists prefixes and reads manifests that live in a store.</param>
    /// <param name="formats">The formats slides are opened with; their extensions decide what prefixes and folders list.</param>
    /// <param name="cancellationToken">Cancels listing and manifest reads.</param>
    public static async Task<IReadOnlyList<string>> ExpandAsync(string arg, ObjectStoreProvider store, IReadOnlyList<ISlideFormat> formats, CancellationToken cancellationToken = default)
    {
        if (arg.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            var result = new List<string>();
            foreach (var line in await ReadManifestAsync(arg, store, cancellationToken).ConfigureAwait(false))
            {
                result.AddRange(await ExpandOneAsync(line, store, formats, cancellationToken).ConfigureAwait(false));
            }
            return result; // the manifest's own order is the user's
        }
        return await ExpandOneAsync(arg, store, formats, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every object under a bucket/container prefix (<c>s3://b/dir</c>, <c>az://c/dir</c>, <c>gs://b/dir</c>; a
    /// missing trailing '/' is added), recursively, with its size and what the store says its content is (ETag or
    /// generation), sorted by key. The archive lists remote collections with it.
    /// </summary>
    /// <param name="prefix">The prefix URI.</param>
    /// <param name="store">The store clients.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <exception cref="SlideException">The prefix is not a store URI, or it cannot be listed (the message names it and the store's error).</exception>
    public static async Task<IReadOnlyList<ListedObject>> ListObjectsAsync(string prefix, ObjectStoreProvider store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var withSlash = prefix.EndsWith('/') ? prefix : prefix + "/";
        if (!StorageUri.TryParse(withSlash, out var uri) || uri is null)
        {
            throw new SlideException(prefix, "not an s3://, az:// or gs:// prefix");
        }
        var listed = await ObjectListing.ListObjectsAsync(uri, store, cancellationToken).ConfigureAwait(false);
        return [.. listed.OrderBy(o => o.Key, StringComparer.Ordinal)];
    }

    /// <summary>True when an object or file name ends in an extension one of <paramref name="formats"/> (default: the registry's) reads.</summary>
    public static bool IsSlideName(string name, IReadOnlyList<ISlideFormat>? formats = null) => FormatRegistry.IsSlideName(name, formats ?? FormatRegistry.Default);

    private static async Task<List<string>> ExpandOneAsync(string arg, ObjectStoreProvider store, IReadOnlyList<ISlideFormat> formats, CancellationToken cancellationToken)
    {
        if (StorageUri.TryParse(arg, out var uri) && uri is not null && (uri.Key.Length == 0 || uri.Key.EndsWith('/')))
        {
            var listed = await ObjectListing.ListAsync(uri, store, cancellationToken).ConfigureAwait(false);
            var slides = listed.Where(u => IsSlideName(new Uri(u).AbsolutePath, formats)).Order(StringComparer.Ordinal).ToList();
            return slides.Count > 0 ? slides : throw new SlideException(arg, $"no slides under this prefix ({listed.Count} objects, none ending in {string.Join(", ", FormatRegistry.Extensions(formats))})");
        }
        if (!arg.Contains("://", StringComparison.Ordinal) && Directory.Exists(arg))
        {
            var slides = Directory.EnumerateFiles(arg).Where(f => IsSlideName(f, formats)).Order(StringComparer.Ordinal).ToList();
            if (slides.Count == 0 && FormatRegistry.IsDicomFolder(arg))
            {
                return [.. Histoscale.Slides.DicomFolder.SlidePaths(arg)]; // the folder when it holds one series, else an instance file of each
            }
            return slides.Count > 0 ? slides : throw new SlideException(arg, $"no slides in this folder (none ending in {string.Join(", ", FormatRegistry.Extensions(formats))})");
        }
        return [arg];
    }

    private static async Task<List<string>> ReadManifestAsync(string manifest, ObjectStoreProvider store, CancellationToken cancellationToken)
    {
        string text;
        string? baseDir = null;
        if (StorageUri.TryParse(manifest, out _))
        {
            using var source = new ObjectStoreProvider(store.Options with { Strategy = StorageStrategy.Direct }).Open(manifest);
            var bytes = new byte[checked((int)source.Length)];
            await source.ReadAsync(0, bytes, cancellationToken).ConfigureAwait(false);
            text = System.Text.Encoding.UTF8.GetString(bytes);
        }
        else
        {
            try
            {
                text = await File.ReadAllTextAsync(manifest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new SlideException(manifest, $"cannot read manifest: {ex.Message}");
            }
            baseDir = Path.GetDirectoryName(Path.GetFullPath(manifest));
        }
        var lines = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            lines.Add(baseDir is not null && !line.Contains("://", StringComparison.Ordinal) && !Path.IsPathRooted(line) ? Path.Combine(baseDir, line) : line);
        }
        return lines.Count > 0 ? lines : throw new SlideException(manifest, "manifest lists no slides");
    }
}
