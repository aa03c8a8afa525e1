using Npgsql;

namespace Histoscale.Archive.Tests.Support;

/// <summary>
/// Where the tests' databases live: a fresh SQLite file, or a fresh database on the PostgreSQL server named by
/// HISTOSCALE_TEST_POSTGRES (an Npgsql connection string; .ci/run starts a server and sets it).
/// </summary>
public static class Databases
{
    public const string PostgresVariable = "HISTOSCALE_TEST_POSTGRES";

    /// <summary>The variable, else the value .ci/postgres.sh wrote to .ci/postgres.env (found above the test binaries).</summary>
    public static string? PostgresServer { get; } = Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : FromEnvFile();

    private static string? FromEnvFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, ".ci", "postgres.env");
            if (File.Exists(file))
            {
                return File.ReadAllLines(file)
                    .Where(l => l.StartsWith(PostgresVariable + "=", StringComparison.Ordinal))
                    .Select(l => l[(PostgresVariable.Length + 1)..].Trim().Trim('\'', '"'))
                    .FirstOrDefault();
            }
        }
        return null;
    }

    public static string SkipReason => $"PostgreSQL tests skipped: {PostgresVariable} is not set (bash .ci/run starts a server on loopback and sets it)";

    public static string NewSqlite(string folder) => Path.Combine(folder, "archive-" + Guid.NewGuid().ToString("N")[..8] + ".sqlite");

    /// <summary>Creates an empty database on the server and returns its connection string.</summary>
    public static string NewPostgres()
    {
        var server = PostgresServer ?? throw new InvalidOperationException(SkipReason);
        var name = "hs_test_" + Guid.NewGuid().ToString("N")[..12];
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = true }.ConnectionString;
    }
}
