namespace Histoscale.Archive.Data;

/// <summary>A stored token grant: the role, in one collection or (null) in all.</summary>
internal sealed record TokenGrant(string Id, ArchiveRole Role, string? Collection);

/// <summary>An annotation's current state.</summary>
internal sealed record AnnotationRecord(string Id, string SlideId, int Version, string Name, string Document, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>One entry of an annotation's history.</summary>
internal sealed record AnnotationVersion(int Version, bool Deleted, DateTimeOffset Created, string Document);

/// <summary>An element with its level-0 bounding box, as stored for region queries.</summary>
internal sealed record StoredElement(int Index, string Type, double MinX, double MinY, double MaxX, double MaxY, string Json);

/// <summary>A model job as stored: its request (JSON), state and progress.</summary>
internal sealed record JobRecord(string Id, string State, string Model, string Request, IReadOnlyList<string> Collections, int SlidesTotal, int SlidesDone,
    long TilesDone, long TilesTotal, string? Error, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>What a conditional write found.</summary>
internal enum WriteOutcome
{
    Done,
    NotFound,
    StaleVersion,
}

/// <summary>
/// Everything the archive keeps: tokens and versioned annotations. Every write is one transaction: a killed
/// process leaves the previous version intact. <see cref="SqlArchiveRepository"/> implements it for SQLite and
/// PostgreSQL.
/// </summary>
internal interface IArchiveRepository : IAsyncDisposable
{
    /// <summary>The database as logs may show it.</summary>
    string Display { get; }

    Task<IReadOnlyList<int>> MigrateAsync(CancellationToken ct);

    Task<int> SchemaVersionAsync(CancellationToken ct);

    /// <summary>Stores a new token's hash; returns its id.</summary>
    Task<string> AddTokenAsync(string hash, ArchiveRole role, string? collection, CancellationToken ct);

    Task<TokenGrant?> FindTokenAsync(string hash, CancellationToken ct);

    Task<AnnotationRecord> CreateAnnotationAsync(string slideId, string name, string document, IReadOnlyList<StoredElement> elements, CancellationToken ct);

    /// <summary>The annotation; a deleted one only with <paramref name="includeDeleted"/> (its history stays readable).</summary>
    Task<AnnotationRecord?> GetAnnotationAsync(string id, CancellationToken ct, bool includeDeleted = false);

    Task<IReadOnlyList<AnnotationRecord>> ListAnnotationsAsync(string slideId, CancellationToken ct);

    /// <summary>Replaces the document when its version is <paramref name="expectedVersion"/>; the new version is returned with <see cref="WriteOutcome.Done"/>.</summary>
    Task<(WriteOutcome Outcome, AnnotationRecord? Record)> UpdateAnnotationAsync(string id, int expectedVersion, string name, string document, IReadOnlyList<StoredElement> elements, CancellationToken ct);

    /// <summary>Deletes (keeping the history) when the version matches, or always when <paramref name="expectedVersion"/> is null.</summary>
    Task<WriteOutcome> DeleteAnnotationAsync(string id, int? expectedVersion, CancellationToken ct);

    Task<IReadOnlyList<AnnotationVersion>> HistoryAsync(string id, CancellationToken ct);

    /// <summary>Elements of the annotation whose boxes intersect [minX,maxX]×[minY,maxY], in document order.</summary>
    Task<IReadOnlyList<StoredElement>> ElementsInBoxAsync(string annotationId, double minX, double minY, double maxX, double maxY, CancellationToken ct);

    /// <summary>Stores a new job in state <c>queued</c>.</summary>
    Task<JobRecord> CreateJobAsync(string model, string request, IReadOnlyList<string> collections, int slides, CancellationToken ct);

    Task<JobRecord?> GetJobAsync(string id, CancellationToken ct);

    /// <summary>The newest jobs first, at most <paramref name="limit"/>, after skipping the <paramref name="offset"/> newest.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsAsync(int limit, int offset, CancellationToken ct);

    /// <summary>How many jobs are queued or running.</summary>
    Task<int> CountUnfinishedJobsAsync(CancellationToken ct);

    /// <summary>Jobs left queued or running (by a stopped or killed process), oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> UnfinishedJobsAsync(CancellationToken ct);

    /// <summary>Moves a job to <paramref name="state"/> when it is in one of <paramref name="from"/>; false when it was not.</summary>
    Task<bool> SetJobStateAsync(string id, string state, IReadOnlyList<string> from, string? error, CancellationToken ct);

    /// <summary>Records a job's progress (whatever its state).</summary>
    Task SetJobProgressAsync(string id, int slidesDone, long tilesDone, long tilesTotal, CancellationToken ct);
}
