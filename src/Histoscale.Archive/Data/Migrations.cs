using System.Data.Common;
using System.Globalization;

namespace Histoscale.Archive.Data;

/// <summary>
/// The archive's schema as numbered migrations, applied in order at start inside one transaction each (both
/// engines have transactional DDL), each recorded in <c>schema_version</c>. A database newer than this build is
/// refused rather than guessed at. Migrations are append-only: a released one is never edited.
/// </summary>
internal static class Migrations
{
    /// <summary>(version, statements): the same SQL runs on SQLite and PostgreSQL.</summary>
    public static readonly IReadOnlyList<(int Version, string Description, string[] Statements)> All =
    [
        (1, "tokens, annotations and their versions",
        [
            """
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                collection TEXT NULL,
                created TEXT NOT NULL)
            """,
            """
            CREATE TABLE annotations (
                id TEXT PRIMARY KEY,
                slide_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                document TEXT NOT NULL,
                created TEXT NOT NULL,
                updated TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX annotations_slide ON annotations (slide_id)",
            """
            CREATE TABLE annotation_versions (
                annotation_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                document TEXT NOT NULL,
                deleted INTEGER NOT NULL,
                created TEXT NOT NULL,
                PRIMARY KEY (annotation_id, version))
            """,
        ]),
        (2, "annotation elements with bounding boxes, for region queries",
        [
            """
            CREATE TABLE annotation_elements (
                annotation_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                slide_id TEXT NOT NULL,
                type TEXT NOT NULL,
                min_x DOUBLE PRECISION NOT NULL,
                min_y DOUBLE PRECISION NOT NULL,
                max_x DOUBLE PRECISION NOT NULL,
                max_y DOUBLE PRECISION NOT NULL,
                element TEXT NOT NULL,
                PRIMARY KEY (annotation_id, idx))
            """,
            "CREATE INDEX annotation_elements_box ON annotation_elements (annotation_id, min_x, max_x)",
        ]),
        (3, "model jobs: request, state and progress, resumed after a restart",
        [
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                model TEXT NOT NULL,
                request TEXT NOT NULL,
                collections TEXT NOT NULL,
                slides_total INTEGER NOT NULL,
                slides_done INTEGER NOT NULL DEFAULT 0,
                tiles_done BIGINT NOT NULL DEFAULT 0,
                tiles_total BIGINT NOT NULL DEFAULT 0,
                error TEXT NULL,
                created TEXT NOT NULL,
                updated TEXT NOT NULL)
            """,
            "CREATE INDEX jobs_state ON jobs (state)",
        ]),
    ];

    public static int Latest => All[^1].Version;

    /// <summary>Brings the database to <see cref="Latest"/>; returns the versions applied now.</summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(ArchiveDatabase database, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        if (database.Kind == DatabaseKind.Sqlite)
        {
            // WAL: readers never block the writer and a killed writer leaves the last commit intact.
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL", null, ct).ConfigureAwait(false);
        }
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)", null, ct).ConfigureAwait(false);
        var applied = new List<int>();
        foreach (var (version, description, statements) in All)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            if (database.Kind == DatabaseKind.Postgres)
            {
                // Two servers starting on one database take turns; the second sees the first one's versions.
                await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(7243101)", transaction, ct).ConfigureAwait(false);
            }
            var exists = await connection.ScalarAsync("SELECT COUNT(*) FROM schema_version WHERE version = @v", transaction, ct, ("@v", version)).ConfigureAwait(false);
            if (Convert.ToInt64(exists, CultureInfo.InvariantCulture) > 0)
            {
                continue;
            }
            foreach (var statement in statements)
            {
                await connection.ExecuteAsync(statement, transaction, ct).ConfigureAwait(false);
            }
            await connection.ExecuteAsync("INSERT INTO schema_version (version, description, applied) VALUES (@v, @d, @t)", transaction, ct,
                ("@v", version), ("@d", description), ("@t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture))).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            applied.Add(version);
        }
        var newest = await connection.ScalarAsync("SELECT MAX(version) FROM schema_version", null, ct).ConfigureAwait(false);
        if (newest is not null && Convert.ToInt32(newest, CultureInfo.InvariantCulture) > Latest)
        {
            throw new InvalidOperationException($"{database.Display} has schema version {newest}, newer than this build's {Latest}: upgrade histoscale");
        }
        return applied;
    }

    public static async Task<int> CurrentAsync(DbConnection connection, CancellationToken ct)
    {
        var v = await connection.ScalarAsync("SELECT MAX(version) FROM schema_version", null, ct).ConfigureAwait(false);
        return v is null ? 0 : Convert.ToInt32(v, CultureInfo.InvariantCulture);
    }
}
