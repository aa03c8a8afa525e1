namespace Histoscale.Storage;

/// <summary>The object stores a URI can name.</summary>
public enum StoreKind
{
    /// <summary>Amazon S3 or an S3-compatible store (s3://bucket/key).</summary>
    S3,
    /// <summary>Azure Blob Storage (az://container/blob or https://ACCOUNT.blob.core.windows.net/...).</summary>
    AzureBlob,
    /// <summary>Google Cloud Storage (gs://bucket/object).</summary>
    Gcs,
}

/// <summary>
/// A parsed object-store URI: s3://bucket/key, gs://bucket/object, az://container/blob, or
/// https://ACCOUNT.blob.core.windows.net/container/blob[?SAS]. The key may be empty or end in '/' (a prefix).
/// </summary>
/// <param name="Kind">Which store.</param>
/// <param name="Container">Bucket (S3, GCS) or container (Azure).</param>
/// <param name="Key">Object key or blob name, unescaped; empty or ending in '/' for a prefix.</param>
/// <param name="Original">The URI as given.</param>
public sealed record StorageUri(StoreKind Kind, string Container, string Key, Uri Original)
{
    /// <summary>Azure account for https blob URLs; null for az:// (the account comes from the connection string).</summary>
    public string? Account { get; init; }

    /// <summary>The URI as given.</summary>
    public override string ToString() => Original.ToString();

    /// <summary>Parses an object-store URI; false (and null) for anything else, including local paths.</summary>
    public static bool TryParse(string text, out StorageUri? uri)
    {
        uri = null;
        return Uri.TryCreate(text, UriKind.Absolute, out var u) && TryParse(u, out uri);
    }

    /// <summary>Parses an object-store URI; false (and null) for any other scheme or host.</summary>
    public static bool TryParse(Uri u, out StorageUri? uri)
    {
        uri = null;
        var kind = u.Scheme switch
        {
            "s3" => StoreKind.S3,
            "gs" => StoreKind.Gcs,
            "az" => StoreKind.AzureBlob,
            "https" when u.Host.EndsWith(".blob.core.windows.net", StringComparison.OrdinalIgnoreCase) => StoreKind.AzureBlob,
            _ => (StoreKind?)null,
        };
        if (kind is null)
        {
            return false;
        }
        // Keys keep their own escaping rules per store, so take the unescaped path verbatim after the container.
        var path = Uri.UnescapeDataString(u.AbsolutePath).TrimStart('/');
        string container, key;
        string? account = null;
        if (u.Scheme == "https")
        {
            account = u.Host[..u.Host.IndexOf('.')];
            var slash = path.IndexOf('/');
            (container, key) = slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
        }
        else
        {
            container = u.Host;
            key = path;
        }
        if (container.Length == 0)
        {
            return false;
        }
        uri = new StorageUri(kind.Value, container, key, u) { Account = account };
        return true;
    }
}
