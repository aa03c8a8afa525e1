using System.Globalization;

namespace Histoscale.Slides.Sources;

/// <summary>
/// What a source's bytes are, as far as can be told without reading them all, so that work done on a slide is
/// reused only for the same bytes, never for another slide under the same name. Local files: size, modification
/// time and a SHA-256 of the first and last MiB. Object stores and http(s): size and the store's validators (ETag,
/// version id or generation), or Last-Modified where there is no ETag.
/// </summary>
public sealed record SourceIdentity
{
    /// <summary>Bytes covered by <see cref="EndsSha256"/> at each end of a local file.</summary>
    public const int HashedEndBytes = 1 << 20;

    /// <summary>The object's or file's size in bytes.</summary>
    public required long Length { get; init; }

    /// <summary>The store's entity tag, without quotes (<c>W/</c> kept for a weak one).</summary>
    public string? ETag { get; init; }

    /// <summary>Object version: S3 or Azure version id, GCS generation.</summary>
    public string? Version { get; init; }

    /// <summary>Modification time: a local file's, or a store's Last-Modified.</summary>
    public DateTimeOffset? Modified { get; init; }

    /// <summary>Local files: SHA-256 (hex) of the first and the last <see cref="HashedEndBytes"/> (once each where they overlap); a local folder read as a DICOM series: SHA-256 of every instance file's name, size and modification time.</summary>
    public string? EndsSha256 { get; init; }

    /// <summary>An ETag as a store sends it (quoted, perhaps weak) in the form kept here; null for none.</summary>
    public static string? NormalizeETag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }
        var weak = etag.StartsWith("W/", StringComparison.Ordinal);
        var tag = (weak ? etag[2..] : etag).Trim().Trim('"');
        return weak ? "W/" + tag : tag;
    }

    /// <summary>
    /// Why <paramref name="now"/> may not be the content <paramref name="before"/> described (e.g.
    /// <c>content changed: ETag "abc" → "def"</c>), or null when they are the same. Sizes always count; then the
    /// strongest validators both sides have (version, ETag, the local hash); modification times count for local files
    /// and where there is no ETag or version. Without anything to compare, the answer is "cannot tell": never the same.
    /// </summary>
    public static string? Difference(SourceIdentity? before, SourceIdentity? now)
    {
        if (before is null)
        {
            return "no content identity was recorded with the earlier results";
        }
        if (now is null)
        {
            return "the slide's source reports no content identity, so earlier results cannot be matched to it";
        }
        var changes = new List<string>();
        if (before.Length != now.Length)
        {
            changes.Add(string.Create(CultureInfo.InvariantCulture, $"size {before.Length} → {now.Length} bytes"));
        }
        var validated = false;
        if (before.Version is not null && now.Version is not null)
        {
            validated = true;
            if (before.Version != now.Version)
            {
                changes.Add($"version \"{before.Version}\" → \"{now.Version}\"");
            }
        }
        if (before.ETag is not null && now.ETag is not null)
        {
            validated = true;
            if (before.ETag != now.ETag)
            {
                changes.Add($"ETag \"{before.ETag}\" → \"{now.ETag}\"");
            }
        }
        var local = before.EndsSha256 is not null || now.EndsSha256 is not null;
        if (before.EndsSha256 is not null && now.EndsSha256 is not null)
        {
            validated = true;
            if (!string.Equals(before.EndsSha256, now.EndsSha256, StringComparison.OrdinalIgnoreCase))
            {
                changes.Add($"SHA-256 of the first and last MiB {Short(before.EndsSha256)} → {Short(now.EndsSha256)}");
            }
        }
        if ((local || !validated) && before.Modified is { } then && now.Modified is { } current)
        {
            validated |= !local;
            if (then != current)
            {
                changes.Add($"modified {Time(then)} → {Time(current)}");
            }
        }
        if (changes.Count > 0)
        {
            return "content changed: " + string.Join(", ", changes);
        }
        return validated ? null : "the source gives no ETag, version or modification time, so it cannot be told apart from another slide of the same size";
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
