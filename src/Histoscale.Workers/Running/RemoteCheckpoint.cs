using System.Text.Json;
using Histoscale.Pipeline.Runs;
using Histoscale.Storage;

namespace Histoscale.Workers.Running;

/// <summary>
/// A slide's checkpoint kept at its object-store output, so that a job redelivered to another worker (its first one
/// was killed, or returned it when the grace period ran out) resumes the slide instead of starting it again:
/// <c>PREFIX/.histoscale/NAME.state.json</c> (which slide, content identity and settings) and
/// <c>PREFIX/.histoscale/NAME.results.bin</c> (the tiles inferred so far), copies of the files the run keeps in the
/// local staging folder. Each upload is one committed write of a snapshot taken first (the results file is
/// append-only with a checksum per record, so a snapshot is a valid prefix, a torn last record at most, which a
/// resume drops); nothing half-written ever has either name. Only a state that says the slide is running is
/// uploaded, so the remote state never claims a completion before the outputs are committed. Uploads are serialized.
/// </summary>
internal sealed class RemoteCheckpoint(ObjectStoreProvider store, string prefix, string name, string staging, string label, TextWriter log)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _uploadedState;
    private long _uploadedLength = -1;

    /// <summary>The prefix's key inside its bucket or container (listed objects are matched by key, whatever URI form the listing gives).</summary>
    private string KeyPrefix => StorageUri.TryParse(prefix, out var parsed) && parsed is not null ? parsed.Key : throw new ArgumentException($"'{prefix}' is not an object-store prefix", nameof(prefix));

    private string Folder => Path.Combine(staging, InferenceRun.CheckpointFolder);

    private string LocalState => Path.Combine(Folder, name + ".state.json");

    private string LocalResults => Path.Combine(Folder, name + ".results.bin");

    /// <summary>The remote state file (the slide's completion record once its outputs are committed).</summary>
    public string RemoteState => $"{prefix}{InferenceRun.CheckpointFolder}/{name}.state.json";

    /// <summary>The remote checkpoint of the tiles inferred so far.</summary>
    public string RemoteResults => $"{prefix}{InferenceRun.CheckpointFolder}/{name}.results.bin";

    /// <summary>The slide's report at the output.</summary>
    public string RemoteReport => $"{prefix}{InferenceRun.CheckpointFolder}/{name}.run.json";

    /// <summary>
    /// Before the slide runs: the earlier summary (marked skipped) when the output already holds the slide complete
    /// for the same settings and content identity with every output present, after removing a checkpoint left there
    /// (its worker died between the commit and the clean-up); else null, with the remote checkpoint brought into the
    /// staging folder when it is further on than a local one from an earlier attempt on this worker. Whether a
    /// checkpoint is resumed is then the run's decision, as for a local one: only for the content identity and
    /// settings it was written with.
    /// </summary>
    public async Task<SlideSummary?> FetchAsync(InferenceRun run, string slide, CancellationToken cancellationToken)
    {
        var files = await store.ListAsync($"{prefix}{InferenceRun.CheckpointFolder}/{name}.", cancellationToken).ConfigureAwait(false);
        var checkpoints = $"{KeyPrefix}{InferenceRun.CheckpointFolder}/{name}.";
        var state = files.FirstOrDefault(f => f.Key == checkpoints + "state.json");
        var results = files.FirstOrDefault(f => f.Key == checkpoints + "results.bin");
        if (state is null)
        {
            // Nothing to skip; a results file without its state cannot be matched to the slide's content and is not resumed.
            return null;
        }
        Directory.CreateDirectory(Folder);
        var fetched = Path.Combine(Folder, name + ".state.json.remote.partial");
        if (!await store.DownloadFileAsync(state.Uri, fetched, cancellationToken).ConfigureAwait(false))
        {
            return null; // removed since it was listed
        }
        var outputs = await OutputNamesAsync(cancellationToken).ConfigureAwait(false);
        var done = run.CompletedEarlier(slide, fetched, outputs.Contains);
        if (done is not null)
        {
            File.Delete(fetched);
            if (results is not null)
            {
                await DeleteRemoteAsync(cancellationToken).ConfigureAwait(false);
            }
            return done;
        }
        var local = new FileInfo(LocalResults);
        if (results is not null && (!local.Exists || results.Length > local.Length))
        {
            var stateBytes = await File.ReadAllBytesAsync(fetched, cancellationToken).ConfigureAwait(false);
            File.Move(fetched, LocalState, overwrite: true);
            if (await store.DownloadFileAsync(results.Uri, LocalResults, cancellationToken).ConfigureAwait(false))
            {
                _uploadedState = stateBytes;
                _uploadedLength = new FileInfo(LocalResults).Length;
                log.WriteLine($"worker: {label}: fetched the checkpoint at {results.Uri} ({results.Length} bytes) to resume from");
            }
        }
        else if (!local.Exists)
        {
            // No checkpoint to resume, but the run reports why earlier complete results are not reused.
            File.Move(fetched, LocalState, overwrite: true);
        }
        else
        {
            File.Delete(fetched); // this worker's own checkpoint from an earlier attempt is further on
        }
        return null;
    }

    /// <summary>Uploads the checkpoint every <paramref name="interval"/> while it changes, until <paramref name="stop"/> fires.</summary>
    public async Task UploadEveryAsync(TimeSpan interval, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await UploadAsync(stop).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Uploads the state (when changed) and a snapshot of the results file (when it changed) if the slide is running;
    /// true when something was uploaded. A failure is logged (the next upload tries again), never thrown.
    /// </summary>
    public async Task<bool> UploadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        var stateSnapshot = Path.Combine(Folder, name + ".state.json.snapshot.partial");
        var resultsSnapshot = Path.Combine(Folder, name + ".results.bin.snapshot.partial");
        try
        {
            byte[] state;
            try
            {
                state = await File.ReadAllBytesAsync(LocalState, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return false; // not started yet
            }
            if (!IsRunning(state))
            {
                return false; // complete (its outputs are committed by the worker) or unreadable
            }
            long length;
            try
            {
                length = await SnapshotAsync(LocalResults, resultsSnapshot, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return false; // not started yet, or just completed
            }
            var stateChanged = _uploadedState is null || !state.AsSpan().SequenceEqual(_uploadedState);
            if (!stateChanged && length == _uploadedLength)
            {
                return false;
            }
            if (stateChanged)
            {
                // The state first: a results file is only resumed beside the state that names its slide's content.
                await File.WriteAllBytesAsync(stateSnapshot, state, cancellationToken).ConfigureAwait(false);
                await store.UploadFileAsync(RemoteState, stateSnapshot, cancellationToken).ConfigureAwait(false);
                _uploadedState = state;
            }
            await store.UploadFileAsync(RemoteResults, resultsSnapshot, cancellationToken).ConfigureAwait(false);
            _uploadedLength = length;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            log.WriteLine($"worker: {label}: could not upload the checkpoint to {RemoteResults} ({OneLine(ex.Message)}); the next upload tries again");
            return false;
        }
        finally
        {
            TryDelete(stateSnapshot);
            TryDelete(resultsSnapshot);
            _gate.Release();
        }
    }

    /// <summary>Removes the remote checkpoint once the outputs are committed; a failure is logged (the next job for this slide removes it).</summary>
    public async Task DeleteRemoteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.DeleteObjectAsync(RemoteResults, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            log.WriteLine($"worker: {label}: could not remove the checkpoint {RemoteResults} ({OneLine(ex.Message)}); the next job for this slide removes it");
        }
    }

    /// <summary>The output file names present at the prefix for this slide (<c>NAME.*</c>), relative to the prefix.</summary>
    private async Task<HashSet<string>> OutputNamesAsync(CancellationToken cancellationToken)
    {
        var listed = await store.ListAsync(prefix + name + ".", cancellationToken).ConfigureAwait(false);
        var keyPrefix = KeyPrefix;
        return [.. listed.Where(o => o.Key.StartsWith(keyPrefix, StringComparison.Ordinal)).Select(o => o.Key[keyPrefix.Length..])];
    }

    /// <summary>Copies what the results file holds now (appends may go on meanwhile); returns the bytes copied.</summary>
    private static async Task<long> SnapshotAsync(string source, string target, CancellationToken cancellationToken)
    {
        await using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: false);
        var length = from.Length;
        await using var to = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: false);
        var buffer = new byte[1 << 16];
        var left = length;
        while (left > 0)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }
            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            left -= read;
        }
        return length - left;
    }

    private static bool IsRunning(byte[] state)
    {
        try
        {
            using var doc = JsonDocument.Parse(state);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("status", out var status)
                && status.ValueKind == JsonValueKind.String
                && status.GetString() == "running";
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // removed with the staging folder
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
