using System.CommandLine;
using Histoscale.Archive;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale token create</c>: a bearer token for the slide archive, printed once (stored hashed).</summary>
public static class TokenCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "read, annotate or admin", Required = true };
        var collection = new Option<string?>("--collection") { Description = "The collection the token applies to (default: every collection)" };
        var db = new Option<string>("--db") { Description = "Archive database, as given to serve: SQLite file or postgres://...", DefaultValueFactory = _ => "histoscale.sqlite" };
        var create = new Command("create", "Create a token and print it (only its hash is stored; it cannot be shown again)") { role, collection, db };
        create.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var parsed = r.GetValue(role)!.ToLowerInvariant() switch
            {
                "read" => ArchiveRole.Read,
                "annotate" => ArchiveRole.Annotate,
                "admin" => ArchiveRole.Admin,
                var other => throw new InputException($"--role: '{other}' is not read, annotate or admin"),
            };
            string token;
            try
            {
                token = await ArchiveTokens.CreateAsync(r.GetValue(db)!, parsed, r.GetValue(collection), ct);
            }
            catch (ArgumentException ex)
            {
                throw new InputException($"token create: {ex.Message}");
            }
            r.InvocationConfiguration.Output.WriteLine(token);
            return CliRunner.Ok;
        });
        return new Command("token", "Archive access tokens") { create };
    }
}
