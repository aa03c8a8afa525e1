using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// The frames of a DICOMweb series as the tile reader asks for them, one at a time, fetched several per request:
/// a frame not yet fetched or on its way is requested together with the following frames of its instance (the
/// neighbouring tiles to its right on a TILED_FULL grid, which a row-order reader wants next), up to the series'
/// <see cref="IDicomWebSeries.MaxFramesPerRequest"/>. Concurrent readers of frames already on their way wait for that
/// request instead of making their own. A frame is handed out once (the decoded tile cache keeps what was decoded);
/// frames fetched ahead and never read are dropped oldest first beyond <see cref="MaxHeldFrames"/>, so memory stays
/// bounded whatever the slide size. Thread-safe.
/// </summary>
internal sealed class DicomWebFrames(IDicomWebSeries series) : IDisposable
{
    /// <summary>Frames held (fetched or on their way) at most; beyond this, the oldest fetched ones are dropped.</summary>
    public const int MaxHeldFrames = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Uid, int Frame), Task<DicomWebFrame>> _held = [];
    private readonly Queue<(string Uid, int Frame)> _order = new();
    private long _requests;

    public IDicomWebSeries Series => series;

    /// <summary>WADO-RS frame requests made so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The URL of frame <paramref name="frameNumber"/> (1-based) of an instance, for messages.</summary>
    public string FrameUrl(string sopInstanceUid, int frameNumber) => $"{series.Name.TrimEnd('/')}/instances/{sopInstanceUid}/frames/{frameNumber}";

    /// <summary>Frame <paramref name="frame"/> (0-based) of <paramref name="instance"/>'s stored bytes, blocking until they are here.</summary>
    /// <exception cref="SlideException">The request failed or the server sent another transfer syntax; names the frame's URL.</exception>
    public byte[] Read(DicomInstance instance, int frame)
    {
        var key = (instance.SopInstanceUid, frame + 1);
        Task<DicomWebFrame> task;
        lock (_gate)
        {
            // A failed request is not remembered: the next reader of its frames asks again.
            if (!_held.TryGetValue(key, out task!) || task.IsFaulted || task.IsCanceled)
            {
                task = Fetch(instance, frame + 1);
            }
        }
        DicomWebFrame result;
        try
        {
            result = task.GetAwaiter().GetResult();
        }
        finally
        {
            lock (_gate)
            {
                if (_held.TryGetValue(key, out var held) && held == task)
                {
                    _held.Remove(key);
                }
            }
        }
        if (result.TransferSyntax is { Length: > 0 } syntax && syntax != instance.File.TransferSyntax && !SameNativeSyntax(syntax, instance.File.TransferSyntax))
        {
            throw new SlideException(FrameUrl(instance.SopInstanceUid, frame + 1), $"the server sent the frame in transfer syntax {syntax}, but the instance is read as {instance.File.TransferSyntax}");
        }
        if (instance.File.TransferSyntax is DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian && result.Data.Length < instance.NativeFrameBytes)
        {
            throw new SlideException(FrameUrl(instance.SopInstanceUid, frame + 1), $"native frame holds {result.Data.Length} bytes, {instance.Columns}x{instance.Rows} pixels need {instance.NativeFrameBytes}") { IsCorruptData = true };
        }
        return result.Data;
    }

    /// <summary>
    /// Asks for frame <paramref name="frameNumber"/> as stored (transfer syntax "*"), for an instance whose metadata
    /// does not give its transfer syntax: the answer says which it is. The frame is kept for the reader.
    /// </summary>
    public async Task<string?> ProbeTransferSyntaxAsync(string sopInstanceUid, int frameNumber)
    {
        Interlocked.Increment(ref _requests);
        var frames = await series.ReadFramesAsync(sopInstanceUid, [frameNumber], "*").ConfigureAwait(false);
        lock (_gate)
        {
            Hold((sopInstanceUid, frameNumber), Task.FromResult(frames[0]));
        }
        return frames[0].TransferSyntax;
    }

    public void Dispose() => series.Dispose();

    /// <summary>Starts one request for <paramref name="first"/> and the frames after it not already held (under the lock).</summary>
    private Task<DicomWebFrame> Fetch(DicomInstance instance, int first)
    {
        var numbers = new List<int> { first };
        for (var n = first + 1; n <= instance.FrameCount && numbers.Count < Math.Max(1, series.MaxFramesPerRequest) && !(_held.TryGetValue((instance.SopInstanceUid, n), out var t) && !t.IsFaulted && !t.IsCanceled); n++)
        {
            numbers.Add(n);
        }
        var uid = instance.SopInstanceUid;
        var syntax = instance.File.TransferSyntax;
        Interlocked.Increment(ref _requests);
        var all = Task.Run(() => series.ReadFramesAsync(uid, numbers, syntax));
        Task<DicomWebFrame>? firstTask = null;
        for (var k = 0; k < numbers.Count; k++)
        {
            var task = Pick(all, k);
            firstTask ??= task;
            Hold((uid, numbers[k]), task);
        }
        return firstTask!;
    }

    private void Hold((string, int) key, Task<DicomWebFrame> task)
    {
        _held[key] = task;
        _order.Enqueue(key);
        while (_held.Count > MaxHeldFrames && _order.TryDequeue(out var oldest))
        {
            if (_held.TryGetValue(oldest, out var t) && t.IsCompleted)
            {
                _held.Remove(oldest);
            }
        }
        if (_order.Count > 4 * MaxHeldFrames)
        {
            // Keys already handed out linger in the queue; rebuild it from what is held.
            var live = _order.Where(_held.ContainsKey).Distinct().ToList();
            _order.Clear();
            foreach (var k in live)
            {
                _order.Enqueue(k);
            }
        }
    }

    private static async Task<DicomWebFrame> Pick(Task<IReadOnlyList<DicomWebFrame>> all, int index)
    {
        var frames = await all.ConfigureAwait(false);
        return frames[index];
    }

    /// <summary>Native pixels are the same bytes in explicit and implicit VR little endian.</summary>
    private static bool SameNativeSyntax(string a, string b) =>
        a is DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian && b is DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian;
}
