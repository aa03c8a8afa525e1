using Histoscale.Slides;

namespace Histoscale.Storage.Inputs;

/// <summary>
/// Turns one input argument into the slides it names, for commands that process a set (<c>infer</c>):
/// a bucket/container prefix (s3://b/dir/, az://c/dir/, gs://b/dir/ — a trailing '/' or an empty key), a local
/// folder, a .txt manifest (one path or URI per line; '#' comments, blank lines; relative paths are relative
/// to the manifest; a line may itself be a prefix or folder), or else a single slide. Prefixes and folders keep
/// only files with a slide extension; results are sorted (ordinal) so a run's order never depends on the store.
/// </summary>
public static class SlideInputs
{
    /// <summary>The slides <paramref name="arg"/> names (see the type's remarks for the forms it accepts), as paths or URIs.</summary>
    /// <param name="arg">A slide, folder, bucket prefix or .txt manifest.</param>
    /// <param name="store">Lists prefixes and reads manifests that live in a store.</param>
    /// <param name="cancellationToken">Cancels listing and manifest reads.</param>
    /// <exception cref="SlideException">A prefix or folder holds no slides.</exception>
    public static async Task<IReadOnlyList<string>> ExpandAsync(string arg, ObjectStoreProvider store, CancellationToken cancellationToken = default)
    {
        if (arg.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            var result = new List<string>();
            foreach (var line in await ReadManifestAsync(arg, store, cancellationToken).ConfigureAwait(false))
            {
                result.AddRange(await ExpandOneAsync(line, store, cancellationToken).ConfigureAwait(false));
            }
            return result; // the manifest's own order is the user's
        }
        return await ExpandOneAsync(arg, store, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="name"/> ends in a slide file extension (.svs, .tif, .tiff, ...; case-insensitive).</summary>
    public static bool IsSlideName(string name) => SlideFiles.HasSlideExtension(name);

    private static async Task<List<string>> ExpandOneAsync(string arg, ObjectStoreProvider store, CancellationToken cancellationToken)
    {
        if (StorageUri.TryParse(arg, out var uri) && uri is not null && (uri.Key.Length == 0 || uri.Key.EndsWith('/')))
        {
            var listed = await ObjectListing.ListAsync(uri, store, cancellationToken).ConfigureAwait(false);
            var slides = listed.Where(u => IsSlideName(new Uri(u).AbsolutePath)).Order(StringComparer.Ordinal).ToList();
            return slides.Count > 0 ? slides : throw new SlideException(arg, $"no slides under this prefix ({listed.Count} objects, none with a slide extension)");
        }
        if (!arg.Contains("://", StringComparison.Ordinal) && Directory.Exists(arg))
        {
            var slides = Directory.EnumerateFiles(arg).Where(IsSlideName).Order(StringComparer.Ordinal).ToList();
            return slides.Count > 0 ? slides : throw new SlideException(arg, "no slides in this folder");
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
