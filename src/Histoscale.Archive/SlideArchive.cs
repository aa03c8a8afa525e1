using Histoscale.Archive.Api;
using Histoscale.Archive.Auth;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Data;
using Histoscale.Archive.Jobs;
using Histoscale.Archive.Tiles;
using Microsoft.AspNetCore.Routing;

namespace Histoscale.Archive;

/// <summary>
/// The slide archive: collections of slides with their overlays, versioned annotations in a database, bearer-token
/// access per collection, and the REST resources and web viewer that expose them. A host opens it (database
/// migrated, collections scanned) and maps its endpoints into its own HTTP pipeline with <see cref="MapEndpoints"/>;
/// <see cref="ArchiveServer"/> is such a host on its own port.
/// </summary>
public sealed class SlideArchive : IAsyncDisposable
{
    private SlideArchive(ArchiveOptions options, IArchiveRepository repository, SlideCatalog catalog, IReadOnlyList<int> migrated, IReadOnlyList<ScanProblem> problems)
    {
        Options = options;
        Repository = repository;
        Catalog = catalog;
        MigrationsApplied = migrated;
        ScanProblems = [.. problems.Select(p => $"{p.Collection}/{p.Path}: {p.Error}")];
        Tiles = new EncodedTileCache(options.TileCacheBytes);
        Auth = new Authenticator(repository, options.AdminToken, options.AnonymousRead);
    }

    internal ArchiveOptions Options { get; }

    internal IArchiveRepository Repository { get; }

    internal SlideCatalog Catalog { get; }

    internal EncodedTileCache Tiles { get; }

    internal Authenticator Auth { get; }

    /// <summary>The job runner; null when the host configured no jobs.</summary>
    internal JobRunner? Jobs { get; private set; }

    /// <summary>Jobs a previous process left queued or running, queued again by this start (they resume from their checkpoints).</summary>
    public int JobsResumed => Jobs?.Resumed ?? 0;

    /// <summary>Schema versions applied by this start (empty when the database was up to date).</summary>
    public IReadOnlyList<int> MigrationsApplied { get; }

    /// <summary>Files the first scan could not serve, one line each ("collection/path: why").</summary>
    public IReadOnlyList<string> ScanProblems { get; }

    /// <summary>Slides served now.</summary>
    public int SlideCount => Catalog.All.Count();

    /// <summary>The database as logs may show it (no password).</summary>
    public string Database => Repository.Display;

    /// <summary>
    /// Validates the options, migrates the database to this build's schema and scans every collection.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (a collection name or folder, the database spec); the message names it.</exception>
    public static async Task<SlideArchive> OpenAsync(ArchiveOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in options.Collections)
        {
            if (!CollectionNames.IsValid(c.Name))
            {
                throw new ArgumentException($"collection name '{c.Name}' must be 1-64 letters, digits, '-', '_' or '.'", nameof(options));
            }
            if (!names.Add(c.Name))
            {
                throw new ArgumentException($"collection name '{c.Name}' is used twice", nameof(options));
            }
            if (c.Root.Contains("://", StringComparison.Ordinal))
            {
                if (options.RemoteSlides?.Handles(c.Root) != true)
                {
                    throw new ArgumentException($"collection '{c.Name}': remote root {c.Root} is not one the host can list (s3://, az://, gs://)", nameof(options));
                }
            }
            else if (!Directory.Exists(c.Root))
            {
                throw new ArgumentException($"collection '{c.Name}': folder '{c.Root}' does not exist", nameof(options));
            }
        }
        if (options.Jobs is not null && (options.ModelRepository is null || options.ResultsDirectory is null))
        {
            throw new ArgumentException("jobs need a model repository (the models they run) and a results folder (where their heatmaps go)", nameof(options));
        }
        if (options.Jobs is { Concurrency: < 1 })
        {
            throw new ArgumentException($"job concurrency must be at least 1, not {options.Jobs.Concurrency}", nameof(options));
        }
        foreach (var origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || origin.Contains('*', StringComparison.Ordinal))
            {
                throw new ArgumentException($"CORS origin '{origin}' is not an origin: give scheme://host[:port], e.g. https://viewer.example.org", nameof(options));
            }
        }
        if (options.TileCacheBytes < 0 || options.MaxAnnotationBytes < 1 || options.MaxRegionEdge < 1)
        {
            throw new ArgumentException("tile cache size, annotation size limit and region edge limit must be positive", nameof(options));
        }
        var repository = new SqlArchiveRepository(ArchiveDatabase.Open(options.Database));
        IReadOnlyList<int> migrated;
        try
        {
            migrated = await repository.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await repository.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var catalog = new SlideCatalog(options);
        var (_, problems) = catalog.Scan();
        if (problems.FirstOrDefault(p => p.Unreachable) is { } unreachable)
        {
            catalog.Dispose();
            await repository.DisposeAsync().ConfigureAwait(false);
            throw new ArgumentException($"collection '{unreachable.Collection}': {unreachable.Error}", nameof(options));
        }
        var archive = new SlideArchive(options, repository, catalog, migrated, problems);
        if (options.Jobs is { } jobs)
        {
            try
            {
                archive.Jobs = await JobRunner.StartAsync(archive, jobs, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await archive.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        return archive;
    }

    /// <summary>
    /// Maps the REST resources under <c>/api/v1</c> (with the OpenAPI document at <c>/api/v1/openapi.json</c>) and
    /// the web viewer at <c>/</c> and <c>/viewer/{id}</c> into <paramref name="endpoints"/>.
    /// </summary>
    /// <param name="endpoints">The host's route builder (an application, or a group it restricts to one listener).</param>
    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = new ArchiveApi(this);
        // One group, so that CORS (when configured) applies to every archive endpoint and to nothing of the host's.
        var group = endpoints.MapGroup("");
        SlideEndpoints.Map(group, api);
        AnnotationEndpoints.Map(group, api);
        ModelEndpoints.Map(group, api);
        JobEndpoints.Map(group, api);
        OpenApiDocument.Map(group);
        ViewerEndpoints.Map(group);
        Cors.Apply(group, Options.CorsOrigins);
    }

    /// <summary>Stops the jobs (unfinished ones resume at the next start), closes the slides and the database connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Jobs is not null)
        {
            await Jobs.DisposeAsync().ConfigureAwait(false);
        }
        Catalog.Dispose();
        await Repository.DisposeAsync().ConfigureAwait(false);
    }
}
