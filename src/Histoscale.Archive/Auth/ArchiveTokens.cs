using System.Security.Cryptography;
using System.Text;
using Histoscale.Archive.Data;

namespace Histoscale.Archive;

/// <summary>
/// Bearer tokens for the archive's API. A token is 32 random bytes (base64url, prefixed <c>hs_</c>); the database
/// keeps only its SHA-256, so a copy of the database gives nobody a usable token.
/// </summary>
public static class ArchiveTokens
{
    /// <summary>
    /// Creates a token with <paramref name="role"/> in <paramref name="collection"/> (null: every collection) in the
    /// database named by <paramref name="database"/> (a SQLite path or a PostgreSQL URL / connection string; the
    /// schema is brought up to date first), and returns it in clear: the only time it is ever shown.
    /// </summary>
    /// <param name="database">SQLite file path, <c>postgres://</c> URL or Npgsql connection string.</param>
    /// <param name="role">What the token may do.</param>
    /// <param name="collection">The collection it applies to, or null for all.</param>
    /// <param name="cancellationToken">Cancels the database work.</param>
    public static async Task<string> CreateAsync(string database, ArchiveRole role, string? collection, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(role))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "role must be read, annotate or admin");
        }
        if (collection is not null && !CollectionNames.IsValid(collection))
        {
            throw new ArgumentException($"collection name '{collection}' must be 1-64 letters, digits, '-', '_' or '.'", nameof(collection));
        }
        await using var repository = new SqlArchiveRepository(ArchiveDatabase.Open(database));
        await repository.MigrateAsync(cancellationToken).ConfigureAwait(false);
        var token = NewToken();
        await repository.AddTokenAsync(Hash(token), role, collection, cancellationToken).ConfigureAwait(false);
        return token;
    }

    internal static string NewToken() => "hs_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

/// <summary>Collection names: short, URL- and file-safe.</summary>
internal static class CollectionNames
{
    public static bool IsValid(string name) =>
        name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name is not "." and not "..";
}
