using System.Security.Cryptography;
using System.Text;
using Histoscale.Archive.Data;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Archive.Auth;

/// <summary>Who is asking: the grants of the bearer token (or of anonymous access), checked per collection.</summary>
internal sealed class Caller
{
    public static readonly Caller Nobody = new(false, []);

    public Caller(bool authenticated, IReadOnlyList<(ArchiveRole Role, string? Collection)> grants)
    {
        Authenticated = authenticated;
        Grants = grants;
    }

    /// <summary>A token was presented and recognised.</summary>
    public bool Authenticated { get; }

    public IReadOnlyList<(ArchiveRole Role, string? Collection)> Grants { get; }

    public bool Can(ArchiveRole role, string collection) =>
        Grants.Any(g => g.Role >= role && (g.Collection is null || string.Equals(g.Collection, collection, StringComparison.Ordinal)));

    /// <summary>Holds <paramref name="role"/> somewhere.</summary>
    public bool CanAnywhere(ArchiveRole role) => Grants.Any(g => g.Role >= role);
}

/// <summary>Resolves the <c>Authorization: Bearer</c> header to a <see cref="Caller"/>, once per request.</summary>
internal sealed class Authenticator(IArchiveRepository repository, string? adminToken, bool anonymousRead)
{
    private readonly byte[]? _adminHash = adminToken is { Length: > 0 } t ? SHA256.HashData(Encoding.UTF8.GetBytes(t)) : null;
    private static readonly object Key = new();

    /// <summary>The caller, or null when a token was presented and is not valid (a 401, whatever anonymous access allows).</summary>
    public async ValueTask<Caller?> ResolveAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(Key, out var cached))
        {
            return (Caller?)cached;
        }
        var caller = await ResolveUncachedAsync(context).ConfigureAwait(false);
        context.Items[Key] = caller;
        return caller;
    }

    private async ValueTask<Caller?> ResolveUncachedAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return anonymousRead ? new Caller(false, [(ArchiveRole.Read, null)]) : Caller.Nobody;
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            return null;
        }
        var token = header[7..].Trim();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        if (_adminHash is not null && CryptographicOperations.FixedTimeEquals(hash, _adminHash))
        {
            return new Caller(true, [(ArchiveRole.Admin, null)]);
        }
        var grant = await repository.FindTokenAsync(Convert.ToHexStringLower(hash), context.RequestAborted).ConfigureAwait(false);
        return grant is null ? null : new Caller(true, [(grant.Role, grant.Collection)]);
    }
}
