using Histoscale.Slides;

namespace Histoscale.Archive;

/// <summary>A slide object listed under a remote collection root.</summary>
/// <param name="Key">Its key relative to the root, '/'-separated (what ids, names and overlay matching use).</param>
/// <param name="Uri">Its full URI, as <see cref="IRemoteSlideStore.Open"/> takes it.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="Identity">
/// What the store says its content is (ETag or version); an object replaced under the same key has another one, so
/// the archive reopens it and its cached tiles are not served again. Null when the store gives none.
/// </param>
public sealed record RemoteSlideObject(string Key, string Uri, long Length, string? Identity);

/// <summary>
/// Lists and opens slides under remote collection roots (<c>s3://</c>, <c>az://</c>, <c>gs://</c>...). The host
/// supplies it (backed by its object-store clients), so the archive itself depends on no cloud SDK.
/// </summary>
public interface IRemoteSlideStore
{
    /// <summary>Whether <paramref name="root"/> is a remote root this store lists (local folders are not).</summary>
    /// <param name="root">A collection's root as given.</param>
    bool Handles(string root);

    /// <summary>Every slide object under <paramref name="root"/>, recursively.</summary>
    /// <param name="root">A root <see cref="Handles"/> accepted.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <exception cref="Exception">The root cannot be listed (bucket missing, credentials refused, endpoint unreachable); the message names the URL.</exception>
    IReadOnlyList<RemoteSlideObject> List(string root, CancellationToken cancellationToken = default);

    /// <summary>Opens one listed object as a slide.</summary>
    /// <param name="item">An object <see cref="List"/> returned.</param>
    /// <param name="options">The archive's slide options.</param>
    Slide Open(RemoteSlideObject item, SlideOptions options);
}
