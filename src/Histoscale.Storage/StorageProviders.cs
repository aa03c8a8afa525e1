using Histoscale.Slides.Sources;

namespace Histoscale.Storage;

/// <summary>
/// Makes every command that opens a slide by path also open s3://, gs://, az:// and Azure https URIs. Call
/// <see cref="RegisterAll"/> once at start-up (the CLI and the server do); calling it again replaces the options.
/// </summary>
public static class StorageProviders
{
    private static readonly Lock Gate = new();
    private static readonly Dispatcher Registered = new();
    private static bool s_registered;

    /// <summary>Registers the object-store providers with <see cref="ByteSources"/>. Default options: strategy from HISTOSCALE_STORAGE_STRATEGY, else <see cref="StorageStrategy.Default"/>.</summary>
    public static void RegisterAll(StorageOptions? options = null)
    {
        lock (Gate)
        {
            Registered.Provider = new ObjectStoreProvider(options ?? new StorageOptions { Strategy = StorageStrategy.FromEnvironment() });
            if (!s_registered)
            {
                ByteSources.Register(Registered);
                s_registered = true;
            }
        }
    }

    /// <summary>The options the registered providers use (after <see cref="RegisterAll"/>).</summary>
    public static StorageOptions? Current => Registered.Provider?.Options;

    /// <summary>Indirection so that re-registering swaps options instead of stacking providers in the global list.</summary>
    private sealed class Dispatcher : IByteSourceProvider
    {
        public volatile ObjectStoreProvider? Provider;

        public bool CanOpen(Uri uri) => Provider?.CanOpen(uri) == true;

        public IByteSource Open(Uri uri) => ((IByteSourceProvider)Provider!).Open(uri);
    }
}
