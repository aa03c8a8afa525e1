using Histoscale.Archive;
using Histoscale.Slides;
using Histoscale.Storage;
using Histoscale.Storage.Inputs;

namespace Histoscale.Cli;

/// <summary>
/// The archive's remote collections (<c>serve --slides s3://bucket/prefix</c>, <c>az://</c>, <c>gs://</c>) backed by
/// the host's object stores: listed as <c>infer</c> lists a prefix, opened through the same store stack.
/// </summary>
/// <param name="stores">The host's object-store clients.</param>
public sealed class RemoteSlideStore(ObjectStoreProvider stores) : IRemoteSlideStore
{
    /// <inheritdoc/>
    public bool Handles(string root) => StorageUri.TryParse(root, out var uri) && uri is not null;

    /// <inheritdoc/>
    public IReadOnlyList<RemoteSlideObject> List(string root, CancellationToken cancellationToken = default)
    {
        var prefix = StorageUri.TryParse(root.EndsWith('/') ? root : root + "/", out var uri) && uri is not null ? uri.Key : "";
        IReadOnlyList<ListedObject> listed;
        try
        {
            listed = Task.Run(() => SlideInputs.ListObjectsAsync(root, stores, cancellationToken), cancellationToken).GetAwaiter().GetResult();
        }
        catch (SlideException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Endpoint unreachable, credentials missing: the SDKs' own exception types, one message naming the URL.
            throw new SlideException(root, $"cannot list: {ex.Message}", inner: ex);
        }
        return [.. listed.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(o => new RemoteSlideObject(o.Key[prefix.Length..], o.Uri, o.Length, o.ETag))];
    }

    /// <inheritdoc/>
    public Slide Open(RemoteSlideObject item, SlideOptions options) => Slide.Open(item.Uri, options);

    /// <summary>The collection name a remote root gives by default: its last prefix segment, else the bucket/container.</summary>
    public static string? DefaultName(string root)
    {
        if (!StorageUri.TryParse(root, out var uri) || uri is null)
        {
            return null;
        }
        var key = uri.Key.TrimEnd('/');
        return key.Length > 0 ? key[(key.LastIndexOf('/') + 1)..] : uri.Container;
    }
}
