using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Histoscale.Archive.Data;

/// <summary>Which engine a database spec names.</summary>
internal enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Opens connections to the archive's database: a SQLite file (the default, created on first use) or PostgreSQL
/// (a <c>postgres://user:pass@host:port/db</c> URL or an Npgsql "Host=...;" connection string). Both take the same
/// SQL: named <c>@parameters</c>, TEXT/INTEGER/DOUBLE PRECISION columns and transactional DDL.
/// </summary>
internal sealed class ArchiveDatabase : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;

    private ArchiveDatabase(DatabaseKind kind, string connectionString, string display)
    {
        Kind = kind;
        _connectionString = connectionString;
        Display = display;
        if (kind == DatabaseKind.Postgres)
        {
            _postgres = NpgsqlDataSource.Create(connectionString);
        }
    }

    public DatabaseKind Kind { get; }

    /// <summary>The database as a user may see it in logs: the file, or host/database without the password.</summary>
    public string Display { get; }

    /// <summary>Parses a <c>--db</c> value; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static ArchiveDatabase Open(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (spec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            var builder = FromUrl(spec);
            return new ArchiveDatabase(DatabaseKind.Postgres, builder.ConnectionString, $"postgresql {builder.Host}:{builder.Port}/{builder.Database}");
        }
        if (spec.Contains("Host=", StringComparison.OrdinalIgnoreCase) && spec.Contains(';', StringComparison.Ordinal))
        {
            NpgsqlConnectionStringBuilder builder;
            try
            {
                builder = new NpgsqlConnectionStringBuilder(spec);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"database connection string: {ex.Message}", nameof(spec), ex);
            }
            return new ArchiveDatabase(DatabaseKind.Postgres, builder.ConnectionString, $"postgresql {builder.Host}:{builder.Port}/{builder.Database}");
        }
        var path = Path.GetFullPath(spec);
        var folder = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"database '{spec}': folder '{folder}' does not exist", nameof(spec));
        }
        var sqlite = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 };
        return new ArchiveDatabase(DatabaseKind.Sqlite, sqlite.ConnectionString, $"sqlite {path}");
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string spec)
    {
        if (!Uri.TryCreate(spec, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"database URL '{Redact(spec)}' is not postgres://user:password@host:port/database", nameof(spec));
        }
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            try
            {
                builder[Uri.UnescapeDataString(kv[0])] = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "true";
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"database URL parameter '{kv[0]}': {ex.Message}", nameof(spec), ex);
            }
        }
        return builder;
    }

    private static string Redact(string url)
    {
        var at = url.IndexOf('@', StringComparison.Ordinal);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 ? url[..(scheme + 3)] + "***" + url[at..] : url;
    }

    public async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            SqliteConnection.ClearAllPools();
        }
    }
}

/// <summary>Small helpers over ADO.NET commands, the same for both engines.</summary>
internal static class Sql
{
    public static DbCommand Command(this DbConnection connection, string text, DbTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        return command;
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, string text, DbTransaction? transaction, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = connection.Command(text, transaction, parameters);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public static async Task<object?> ScalarAsync(this DbConnection connection, string text, DbTransaction? transaction, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = connection.Command(text, transaction, parameters);
        var value = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }
}
