using System.Collections.Immutable;
using System.Globalization;
using Histoscale.Inference;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Histoscale.Server.Models;

/// <summary>
/// The models a server is serving, loaded from a Triton-layout repository and changed at runtime without a restart:
/// by clients' load/unload requests in explicit model control, or by following the repository in poll mode.
/// Lookups on the request path read an immutable snapshot (no lock); loads and unloads are serialised. A reload
/// builds the new versions before swapping them in, then drains the old ones, so requests never see a half-loaded
/// model. Unloading and shutdown let queued and running requests finish.
/// </summary>
internal sealed class ModelRegistry : IAsyncDisposable
{
    private static readonly ImmutableSortedDictionary<long, ModelVersionHost> Empty = ImmutableSortedDictionary<long, ModelVersionHost>.Empty;
    private readonly SemaphoreSlim _mutate = new(1, 1);
    private readonly OnnxRuntimeOptions _runtime;
    private readonly ILogger _log;
    // Poll mode: each model directory's fingerprint when it was last loaded (or tried); only the poller uses it.
    private readonly Dictionary<string, long> _polled = new(StringComparer.Ordinal);
    private volatile ImmutableDictionary<string, Entry> _models = ImmutableDictionary.Create<string, Entry>(StringComparer.Ordinal);

    public ModelRegistry(ModelRepository repository, OnnxRuntimeOptions? runtime = null, ILogger? log = null, ModelControlMode controlMode = ModelControlMode.Explicit)
    {
        Repository = repository;
        _runtime = runtime ?? new OnnxRuntimeOptions();
        _log = log ?? NullLogger.Instance;
        ControlMode = controlMode;
    }

    public ModelRepository Repository { get; }

    /// <summary>Whether clients may load and unload (explicit) or the server decides (none, poll).</summary>
    public ModelControlMode ControlMode { get; }

    /// <summary>Every loaded version of every model, by name then version.</summary>
    public IEnumerable<ModelVersionHost> LoadedVersions =>
        _models.Values.OrderBy(e => e.Name, StringComparer.Ordinal).SelectMany(e => e.Versions.Values);

    /// <summary>Loads every model of the repository; a model that fails is logged and listed UNAVAILABLE with its error.</summary>
    public async Task LoadAllAsync(CancellationToken cancellationToken = default)
    {
        foreach (var entry in Repository.Index())
        {
            try
            {
                await LoadAsync(entry.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelConfigException ex)
            {
                _log.LogError("model '{Model}' failed to load: {Error}", entry.Name, ex.Message);
            }
        }
    }

    /// <summary>Loads (or reloads) a model's served versions. Throws <see cref="ModelConfigException"/> when it cannot load.</summary>
    public async Task LoadAsync(string name, CancellationToken cancellationToken = default)
    {
        await _mutate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previous = _models.GetValueOrDefault(name);
            SetState(name, previous?.Versions ?? Empty, ModelState.Loading, "");
            var loaded = new List<ModelVersionHost>();
            try
            {
                var model = Repository.Open(name);
                if (model.ServedVersions.Count == 0)
                {
                    throw new ModelConfigException("no version directory matches the version_policy", model: name, file: model.Directory);
                }
                foreach (var version in model.ServedVersions)
                {
                    // Session creation and warm-up are CPU-bound: keep them off the caller's thread.
                    loaded.Add(await Task.Run(() => Create(model, version), cancellationToken).ConfigureAwait(false));
                }
            }
            catch (Exception ex)
            {
                foreach (var v in loaded)
                {
                    await v.DisposeAsync().ConfigureAwait(false);
                }
                if (previous is null && !Repository.Index().Any(e => e.Name == name))
                {
                    // Not a model of this repository at all: nothing to list in the index.
                    _models = _models.Remove(name);
                    throw;
                }
                // A failed reload keeps serving what was there (Triton does the same).
                SetState(name, previous?.Versions ?? Empty, previous?.Versions.Count > 0 ? ModelState.Ready : ModelState.Unavailable, ex.Message);
                throw ex as ModelConfigException ?? new ModelConfigException($"failed to load: {ex.Message}", model: name, inner: ex);
            }
            SetState(name, loaded.ToImmutableSortedDictionary(v => v.Version, v => v), ModelState.Ready, "");
            _log.LogInformation("loaded model '{Model}' versions {Versions}", name, string.Join(",", loaded.Select(v => v.VersionText)));
            if (previous is not null)
            {
                await DisposeAllAsync(previous.Versions.Values).ConfigureAwait(false);
            }
        }
        finally
        {
            _mutate.Release();
        }
    }

    /// <summary>
    /// Called first by clients' load and unload requests (REST and gRPC): they are allowed under explicit model
    /// control only, as in Triton. Throws <see cref="ModelControlDisabledException"/>.
    /// </summary>
    public void EnsureExplicitControl()
    {
        if (ControlMode != ModelControlMode.Explicit)
        {
            throw new ModelControlDisabledException();
        }
    }

    /// <summary>Stops serving a model; returns once its queued and running requests have finished.</summary>
    public Task UnloadAsync(string name, CancellationToken cancellationToken = default) => UnloadAsync(name, forget: false, cancellationToken);

    /// <summary>
    /// One scan of poll mode: loads models whose directory appeared, reloads those whose files changed (a failed
    /// reload keeps the old versions serving), unloads and forgets those whose directory is gone. A model that fails
    /// to load is logged and tried again only once its files change. Call from one poller at a time.
    /// </summary>
    public async Task SyncWithRepositoryAsync(CancellationToken cancellationToken = default)
    {
        var present = new SortedDictionary<string, long?>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories(Repository.Root))
        {
            var name = Path.GetFileName(dir);
            if (!name.StartsWith('.'))
            {
                present[name] = Fingerprint(dir);
            }
        }
        foreach (var (name, print) in present)
        {
            if (print is not { } current || (_polled.TryGetValue(name, out var known) && known == current))
            {
                continue; // unchanged, or changing under our feet (next scan sees it settled)
            }
            _polled[name] = current;
            try
            {
                await LoadAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelConfigException ex)
            {
                _log.LogError("model '{Model}' failed to load: {Error}", name, ex.Message);
            }
        }
        foreach (var name in _polled.Keys.Where(n => !present.ContainsKey(n)).ToList())
        {
            _polled.Remove(name);
            await UnloadAsync(name, forget: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Poll mode's loop: a scan every <paramref name="interval"/> until cancelled; a failed scan is logged.</summary>
    public async Task PollAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await SyncWithRepositoryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The repository may be briefly unreadable (remounted, being replaced): the next scan retries.
                    _log.LogError(ex, "polling the model repository failed");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task UnloadAsync(string name, bool forget, CancellationToken cancellationToken)
    {
        await _mutate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previous = _models.GetValueOrDefault(name);
            if (previous is null && !forget && !Repository.Index().Any(e => e.Name == name))
            {
                throw new ModelNotFoundException($"failed to unload '{name}', no version is available");
            }
            if (forget)
            {
                // The directory is gone: the model leaves the index too.
                _models = _models.Remove(name);
            }
            else
            {
                SetState(name, Empty, ModelState.Unavailable, "unloaded");
            }
            if (previous is not null)
            {
                await DisposeAllAsync(previous.Versions.Values).ConfigureAwait(false);
                _log.LogInformation("unloaded model '{Model}'", name);
            }
        }
        finally
        {
            _mutate.Release();
        }
    }

    /// <summary>
    /// The version a request addresses: <paramref name="version"/> or, when empty, the latest loaded one.
    /// Throws <see cref="ModelNotFoundException"/> for an unknown model or version.
    /// </summary>
    public ModelVersionHost Resolve(string name, string? version)
    {
        if (!_models.TryGetValue(name, out var entry) || entry.Versions.Count == 0)
        {
            throw new ModelNotFoundException($"Request for unknown model: '{name}' is not found");
        }
        if (string.IsNullOrEmpty(version))
        {
            return entry.Versions.Values.Last();
        }
        if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && entry.Versions.TryGetValue(v, out var host))
        {
            return host;
        }
        throw new ModelNotFoundException($"Request for unknown model: '{name}' version {version} is not found");
    }

    /// <summary>Whether the model (version) is loaded and ready.</summary>
    public bool IsReady(string name, string? version)
    {
        try
        {
            Resolve(name, version);
            return true;
        }
        catch (ModelNotFoundException)
        {
            return false;
        }
    }

    /// <summary>All loaded versions of one model, ascending; throws <see cref="ModelNotFoundException"/> when none.</summary>
    public IReadOnlyList<ModelVersionHost> Versions(string name) =>
        _models.TryGetValue(name, out var entry) && entry.Versions.Count > 0
            ? [.. entry.Versions.Values]
            : throw new ModelNotFoundException($"Request for unknown model: '{name}' is not found");

    /// <summary>Triton's repository index: loaded versions with their state, other repository models with theirs.</summary>
    public IReadOnlyList<ModelIndexEntry> Index(bool readyOnly)
    {
        var entries = new List<ModelIndexEntry>();
        var snapshot = _models;
        var names = Repository.Index().Select(e => e.Name).Concat(snapshot.Keys).Distinct().Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (snapshot.TryGetValue(name, out var entry))
            {
                if (entry.Versions.Count > 0)
                {
                    entries.AddRange(entry.Versions.Values.Select(v => new ModelIndexEntry(name, v.VersionText, entry.State, entry.Reason)));
                }
                else if (!readyOnly)
                {
                    entries.Add(new ModelIndexEntry(name, "", entry.State, entry.Reason));
                }
            }
            else if (!readyOnly)
            {
                entries.Add(new ModelIndexEntry(name, "", null, ""));
            }
        }
        return readyOnly ? [.. entries.Where(e => e.State == ModelState.Ready)] : entries;
    }

    /// <summary>Stops every model: queued and running requests finish, then sessions are freed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _mutate.WaitAsync().ConfigureAwait(false);
        try
        {
            var all = _models.Values.SelectMany(e => e.Versions.Values).ToList();
            _models = _models.Clear();
            await DisposeAllAsync(all).ConfigureAwait(false);
        }
        finally
        {
            _mutate.Release();
        }
    }

    private ModelVersionHost Create(RepositoryModel model, long version)
    {
        var description = ModelDescription.FromRepository(model, version);
        var backend = OnnxRuntimeBackend.Create(description, _runtime);
        var batcher = new DynamicBatcher(backend, BatcherOptions.FromConfig(description.Config));
        return new ModelVersionHost(description, backend, batcher);
    }

    /// <summary>
    /// What poll mode compares between scans: every file and directory under the model directory with its size and
    /// modification time (Triton also watches modification times). Null while entries vanish mid-scan.
    /// </summary>
    private static long? Fingerprint(string directory)
    {
        try
        {
            var hash = new HashCode();
            var entries = new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).OrderBy(e => e.FullName, StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                hash.Add(entry.FullName, StringComparer.Ordinal);
                hash.Add(entry.LastWriteTimeUtc.Ticks);
                hash.Add(entry is FileInfo file ? file.Length : -1);
            }
            return hash.ToHashCode();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void SetState(string name, ImmutableSortedDictionary<long, ModelVersionHost> versions, ModelState state, string reason) =>
        _models = _models.SetItem(name, new Entry(name, versions, state, reason));

    private static async Task DisposeAllAsync(IEnumerable<ModelVersionHost> versions) =>
        await Task.WhenAll(versions.Select(v => v.DisposeAsync().AsTask())).ConfigureAwait(false);

    private sealed record Entry(string Name, ImmutableSortedDictionary<long, ModelVersionHost> Versions, ModelState State, string Reason);
}
