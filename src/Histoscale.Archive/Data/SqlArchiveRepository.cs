using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;

namespace Histoscale.Archive.Data;

/// <summary>
/// <see cref="IArchiveRepository"/> over ADO.NET: the same statements on SQLite (Microsoft.Data.Sqlite) and
/// PostgreSQL (Npgsql). Versions are optimistic: an update names the version it read, and the UPDATE's
/// <c>WHERE version = @expected</c> decides, inside the transaction that also writes the history row and the
/// element rows, so two writers never both win.
/// </summary>
internal sealed class SqlArchiveRepository(ArchiveDatabase database) : IArchiveRepository
{
    private const string Columns = "id, slide_id, version, name, document, created, updated";

    public string Display => database.Display;

    public Task<IReadOnlyList<int>> MigrateAsync(CancellationToken ct) => Migrations.ApplyAsync(database, ct);

    public async Task<int> SchemaVersionAsync(CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await Migrations.CurrentAsync(c, ct).ConfigureAwait(false);
    }

    public async Task<string> AddTokenAsync(string hash, ArchiveRole role, string? collection, CancellationToken ct)
    {
        var id = NewId();
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await c.ExecuteAsync("INSERT INTO tokens (id, hash, role, collection, created) VALUES (@id, @h, @r, @c, @t)", null, ct,
            ("@id", id), ("@h", hash), ("@r", role.ToString().ToLowerInvariant()), ("@c", collection), ("@t", Now())).ConfigureAwait(false);
        return id;
    }

    public async Task<TokenGrant?> FindTokenAsync(string hash, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command("SELECT id, role, collection FROM tokens WHERE hash = @h", null, ("@h", hash));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }
        var role = Enum.Parse<ArchiveRole>(r.GetString(1), ignoreCase: true);
        return new TokenGrant(r.GetString(0), role, r.IsDBNull(2) ? null : r.GetString(2));
    }

    public async Task<AnnotationRecord> CreateAnnotationAsync(string slideId, string name, string document, IReadOnlyList<StoredElement> elements, CancellationToken ct)
    {
        var id = NewId();
        var now = Now();
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await c.ExecuteAsync("INSERT INTO annotations (id, slide_id, version, name, document, created, updated, deleted) VALUES (@id, @s, 1, @n, @d, @t, @t, 0)", tx, ct,
            ("@id", id), ("@s", slideId), ("@n", name), ("@d", document), ("@t", now)).ConfigureAwait(false);
        await AddVersionAsync(c, tx, id, 1, document, false, now, ct).ConfigureAwait(false);
        await WriteElementsAsync(c, tx, id, slideId, elements, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        var t = Parse(now);
        return new AnnotationRecord(id, slideId, 1, name, document, t, t);
    }

    public async Task<AnnotationRecord?> GetAnnotationAsync(string id, CancellationToken ct, bool includeDeleted = false)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command($"SELECT {Columns} FROM annotations WHERE id = @id" + (includeDeleted ? "" : " AND deleted = 0"), null, ("@id", id));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await r.ReadAsync(ct).ConfigureAwait(false) ? Read(r) : null;
    }

    public async Task<IReadOnlyList<AnnotationRecord>> ListAnnotationsAsync(string slideId, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command($"SELECT {Columns} FROM annotations WHERE slide_id = @s AND deleted = 0 ORDER BY created, id", null, ("@s", slideId));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<AnnotationRecord>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Read(r));
        }
        return list;
    }

    public async Task<(WriteOutcome Outcome, AnnotationRecord? Record)> UpdateAnnotationAsync(string id, int expectedVersion, string name, string document, IReadOnlyList<StoredElement> elements, CancellationToken ct)
    {
        var now = Now();
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        var changed = await c.ExecuteAsync("UPDATE annotations SET version = version + 1, name = @n, document = @d, updated = @t WHERE id = @id AND version = @v AND deleted = 0", tx, ct,
            ("@id", id), ("@v", expectedVersion), ("@n", name), ("@d", document), ("@t", now)).ConfigureAwait(false);
        if (changed == 0)
        {
            var outcome = await ExistsAsync(c, tx, id, ct).ConfigureAwait(false) ? WriteOutcome.StaleVersion : WriteOutcome.NotFound;
            await tx.RollbackAsync(ct).ConfigureAwait(false);
            return (outcome, null);
        }
        AnnotationRecord record;
        await using (var cmd = c.Command($"SELECT {Columns} FROM annotations WHERE id = @id", tx, ("@id", id)))
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await r.ReadAsync(ct).ConfigureAwait(false);
            record = Read(r);
        }
        await AddVersionAsync(c, tx, id, record.Version, document, false, now, ct).ConfigureAwait(false);
        await c.ExecuteAsync("DELETE FROM annotation_elements WHERE annotation_id = @id", tx, ct, ("@id", id)).ConfigureAwait(false);
        await WriteElementsAsync(c, tx, id, record.SlideId, elements, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return (WriteOutcome.Done, record);
    }

    public async Task<WriteOutcome> DeleteAnnotationAsync(string id, int? expectedVersion, CancellationToken ct)
    {
        var now = Now();
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        var sql = "UPDATE annotations SET version = version + 1, deleted = 1, updated = @t WHERE id = @id AND deleted = 0" + (expectedVersion is null ? "" : " AND version = @v");
        var changed = await c.ExecuteAsync(sql, tx, ct, ("@id", id), ("@t", now), ("@v", expectedVersion ?? 0)).ConfigureAwait(false);
        if (changed == 0)
        {
            var outcome = await ExistsAsync(c, tx, id, ct).ConfigureAwait(false) ? WriteOutcome.StaleVersion : WriteOutcome.NotFound;
            await tx.RollbackAsync(ct).ConfigureAwait(false);
            return outcome;
        }
        var version = Convert.ToInt32(await c.ScalarAsync("SELECT version FROM annotations WHERE id = @id", tx, ct, ("@id", id)).ConfigureAwait(false), CultureInfo.InvariantCulture);
        var document = (string)(await c.ScalarAsync("SELECT document FROM annotations WHERE id = @id", tx, ct, ("@id", id)).ConfigureAwait(false))!;
        await AddVersionAsync(c, tx, id, version, document, true, now, ct).ConfigureAwait(false);
        await c.ExecuteAsync("DELETE FROM annotation_elements WHERE annotation_id = @id", tx, ct, ("@id", id)).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return WriteOutcome.Done;
    }

    public async Task<IReadOnlyList<AnnotationVersion>> HistoryAsync(string id, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command("SELECT version, deleted, created, document FROM annotation_versions WHERE annotation_id = @id ORDER BY version", null, ("@id", id));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<AnnotationVersion>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new AnnotationVersion(Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture) != 0, Parse(r.GetString(2)), r.GetString(3)));
        }
        return list;
    }

    public async Task<IReadOnlyList<StoredElement>> ElementsInBoxAsync(string annotationId, double minX, double minY, double maxX, double maxY, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command(
            "SELECT idx, type, min_x, min_y, max_x, max_y, element FROM annotation_elements " +
            "WHERE annotation_id = @id AND max_x >= @x0 AND min_x <= @x1 AND max_y >= @y0 AND min_y <= @y1 ORDER BY idx", null,
            ("@id", annotationId), ("@x0", minX), ("@x1", maxX), ("@y0", minY), ("@y1", maxY));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<StoredElement>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new StoredElement(Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetString(6)));
        }
        return list;
    }

    private const string JobColumns = "id, state, model, request, collections, slides_total, slides_done, tiles_done, tiles_total, error, created, updated";

    public async Task<JobRecord> CreateJobAsync(string model, string request, IReadOnlyList<string> collections, int slides, CancellationToken ct)
    {
        var id = NewId();
        var now = Now();
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await c.ExecuteAsync("INSERT INTO jobs (id, state, model, request, collections, slides_total, slides_done, tiles_done, tiles_total, error, created, updated) " +
            "VALUES (@id, 'queued', @m, @r, @c, @n, 0, 0, 0, NULL, @t, @t)", null, ct,
            ("@id", id), ("@m", model), ("@r", request), ("@c", string.Join(',', collections)), ("@n", slides), ("@t", now)).ConfigureAwait(false);
        var t = Parse(now);
        return new JobRecord(id, "queued", model, request, collections, slides, 0, 0, 0, null, t, t);
    }

    public async Task<JobRecord?> GetJobAsync(string id, CancellationToken ct)
    {
        var list = await JobsAsync($"SELECT {JobColumns} FROM jobs WHERE id = @id", ct, ("@id", id)).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    public Task<IReadOnlyList<JobRecord>> ListJobsAsync(int limit, int offset, CancellationToken ct) =>
        JobsAsync($"SELECT {JobColumns} FROM jobs ORDER BY created DESC, id LIMIT @n OFFSET @o", ct, ("@n", limit), ("@o", offset));

    public async Task<int> CountUnfinishedJobsAsync(CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        return Convert.ToInt32(await c.ScalarAsync("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')", null, ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    public Task<IReadOnlyList<JobRecord>> UnfinishedJobsAsync(CancellationToken ct) =>
        JobsAsync($"SELECT {JobColumns} FROM jobs WHERE state IN ('queued', 'running') ORDER BY created, id", ct);

    public async Task<bool> SetJobStateAsync(string id, string state, IReadOnlyList<string> from, string? error, CancellationToken ct)
    {
        var names = from.Select((_, i) => "@f" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var parameters = new List<(string, object?)> { ("@id", id), ("@s", state), ("@e", error), ("@t", Now()) };
        parameters.AddRange(from.Select((f, i) => (names[i], (object?)f)));
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await c.ExecuteAsync($"UPDATE jobs SET state = @s, error = @e, updated = @t WHERE id = @id AND state IN ({string.Join(", ", names)})", null, ct, [.. parameters]).ConfigureAwait(false) > 0;
    }

    public async Task SetJobProgressAsync(string id, int slidesDone, long tilesDone, long tilesTotal, CancellationToken ct)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await c.ExecuteAsync("UPDATE jobs SET slides_done = @s, tiles_done = @d, tiles_total = @n, updated = @t WHERE id = @id", null, ct,
            ("@id", id), ("@s", slidesDone), ("@d", tilesDone), ("@n", tilesTotal), ("@t", Now())).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<JobRecord>> JobsAsync(string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var c = await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = c.Command(sql, null, parameters);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<JobRecord>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new JobRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries),
                Convert.ToInt32(r.GetValue(5), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(6), CultureInfo.InvariantCulture),
                Convert.ToInt64(r.GetValue(7), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(8), CultureInfo.InvariantCulture),
                r.IsDBNull(9) ? null : r.GetString(9), Parse(r.GetString(10)), Parse(r.GetString(11))));
        }
        return list;
    }

    public ValueTask DisposeAsync() => database.DisposeAsync();

    private static async Task<bool> ExistsAsync(DbConnection c, DbTransaction tx, string id, CancellationToken ct) =>
        Convert.ToInt64(await c.ScalarAsync("SELECT COUNT(*) FROM annotations WHERE id = @id AND deleted = 0", tx, ct, ("@id", id)).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;

    private static Task<int> AddVersionAsync(DbConnection c, DbTransaction tx, string id, int version, string document, bool deleted, string now, CancellationToken ct) =>
        c.ExecuteAsync("INSERT INTO annotation_versions (annotation_id, version, document, deleted, created) VALUES (@id, @v, @d, @x, @t)", tx, ct,
            ("@id", id), ("@v", version), ("@d", document), ("@x", deleted ? 1 : 0), ("@t", now));

    private static async Task WriteElementsAsync(DbConnection c, DbTransaction tx, string id, string slideId, IReadOnlyList<StoredElement> elements, CancellationToken ct)
    {
        if (elements.Count == 0)
        {
            return;
        }
        await using var cmd = c.Command(
            "INSERT INTO annotation_elements (annotation_id, idx, slide_id, type, min_x, min_y, max_x, max_y, element) VALUES (@id, @i, @s, @ty, @x0, @y0, @x1, @y1, @e)", tx,
            ("@id", id), ("@i", 0), ("@s", slideId), ("@ty", ""), ("@x0", 0.0), ("@y0", 0.0), ("@x1", 0.0), ("@y1", 0.0), ("@e", ""));
        await cmd.PrepareAsync(ct).ConfigureAwait(false);
        foreach (var e in elements)
        {
            cmd.Parameters["@i"].Value = e.Index;
            cmd.Parameters["@ty"].Value = e.Type;
            cmd.Parameters["@x0"].Value = e.MinX;
            cmd.Parameters["@y0"].Value = e.MinY;
            cmd.Parameters["@x1"].Value = e.MaxX;
            cmd.Parameters["@y1"].Value = e.MaxY;
            cmd.Parameters["@e"].Value = e.Json;
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    private static AnnotationRecord Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture),
        r.GetString(3), r.GetString(4), Parse(r.GetString(5)), Parse(r.GetString(6)));

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <summary>A 24-hex id, the shape Girder/DSA ids have.</summary>
    internal static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
