using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Formats.Dicom;

/// <summary>
/// The frames of a DICOMweb series as the tile reader asks for them, one at a time, fetched several per request.
/// <list type="bullet">
/// <item><b>On demand</b>: a frame not yet here or on its way is requested together with the following frames of
/// its instance (the neighbouring tiles to its right on a TILED_FULL grid, which a row-order reader wants next), up to
/// the series' <see cref="IDicomWebSeries.MaxFramesPerRequest"/>. Concurrent readers of frames already on their way
/// wait for that request instead of making their own.</item>
/// <item><b>Prefetch hints</b> (<see cref="Prefetch"/>, from the pipeline's plan): the hinted frames not already here
/// or on their way, in frame order per instance, are fetched ahead in requests of up to
/// <see cref="IDicomWebSeries.MaxFramesPerPrefetchRequest"/> frames, at most
/// <see cref="IDicomWebSeries.MaxConcurrentRequests"/> of them in flight. A reader that needs a frame whose hinted
/// request is still queued starts that request itself. A hinted request whose turn comes is sent only if the wanted
/// frames not yet read, the hinted requests in flight (estimated at the frames' average size so far, or the native
/// frame size before any arrived) and this request fit in the byte cap; otherwise it is dropped (the reader is far
/// behind; its frames come on demand later).</item>
/// <item><b>Held frames, capped in bytes</b>: frames that arrived are held, read or not, up to
/// <see cref="IDicomWebSeries.MaxHeldFrameBytes"/> in all. Three kinds: <i>wanted</i> (asked for by a reader or
/// hinted) and not yet read; <i>speculative</i> (a reader's request brought them as neighbours, nobody asked for them
/// — a sparse reader such as QC focus sampling never reads them); and <i>read</i>. Beyond the cap, speculative frames
/// from earlier requests go first (oldest first), then read ones (least recently read first), then the speculative
/// ones that just came, then wanted unread ones, farthest ahead (most recently arrived) first — so the frames the
/// reader needs next stay. A hint for a speculative frame makes it wanted. A reader already waiting for a dropped
/// frame still gets it; a later one asks again. Each frame is held on its own (a request's other frames are not
/// kept alive by it); the count is the frames' bytes, not the response bodies they were cut from while those are
/// parsed.</item>
/// </list>
/// A failed request is not remembered: the next reader of its frames asks again. Thread-safe.
/// </summary>
internal sealed class DicomWebFrames : IDisposable
{
    private readonly IDicomWebSeries _series;
    private readonly long _maxHeldBytes;
    private readonly SemaphoreSlim _prefetchSlots;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Uid, int Frame), Entry> _entries = [];
    private readonly LinkedList<(string Uid, int Frame)> _read = new();
    private readonly LinkedList<(string Uid, int Frame)> _unread = new();
    private readonly LinkedList<(string Uid, int Frame)> _speculative = new();
    private long _heldBytes;
    private long _unreadBytes;
    private long _inFlightHintBytes;
    private long _arrivedBytes;
    private long _arrivedFrames;
    private long _arrivals;
    private long _peakHeldBytes;
    private long _requests;
    private long _prefetchRequests;
    private long _droppedFrames;
    private long _droppedHints;
    private volatile bool _disposed;

    public DicomWebFrames(IDicomWebSeries series)
    {
        _series = series;
        _maxHeldBytes = Math.Max(0, series.MaxHeldFrameBytes);
        _prefetchSlots = new SemaphoreSlim(Math.Max(1, series.MaxConcurrentRequests));
    }

    public IDicomWebSeries Series => _series;

    /// <summary>WADO-RS frame requests made so far (prefetches included).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Of <see cref="Requests"/>, those made for prefetch hints.</summary>
    public long PrefetchRequests => Interlocked.Read(ref _prefetchRequests);

    /// <summary>Bytes of the frames held (arrived, read or not).</summary>
    public long HeldBytes
    {
        get
        {
            lock (_gate)
            {
                return _heldBytes;
            }
        }
    }

    /// <summary>
    /// The most bytes ever held at once, counted when a request's frames arrive and before the evictions they cause:
    /// above the cap by at most what one request brought.
    /// </summary>
    public long PeakHeldBytes
    {
        get
        {
            lock (_gate)
            {
                return _peakHeldBytes;
            }
        }
    }

    /// <summary>Frames that arrived and were dropped before anyone read them, to keep within the byte cap.</summary>
    public long DroppedFrames => Interlocked.Read(ref _droppedFrames);

    /// <summary>Hinted requests dropped before they started because the wanted unread frames and the hinted requests in flight left no room for them.</summary>
    public long DroppedHints => Interlocked.Read(ref _droppedHints);

    /// <summary>Bytes of the wanted (asked for or hinted) frames held and not yet read; for tests.</summary>
    public long UnreadBytes
    {
        get
        {
            lock (_gate)
            {
                return _unreadBytes;
            }
        }
    }

    /// <summary>Frames on their way or queued in a hinted request; for tests.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _entries.Values.Count(e => e.Bytes < 0);
            }
        }
    }

    /// <summary>The URL of frame <paramref name="frameNumber"/> (1-based) of an instance, for messages.</summary>
    public string FrameUrl(string sopInstanceUid, int frameNumber) => $"{_series.Name.TrimEnd('/')}/instances/{sopInstanceUid}/frames/{frameNumber}";

    /// <summary>Frame <paramref name="frame"/> (0-based) of <paramref name="instance"/>'s stored bytes, blocking until they are here.</summary>
    /// <exception cref="SlideException">The request failed or the server sent another transfer syntax; names the frame's URL.</exception>
    public byte[] Read(DicomInstance instance, int frame)
    {
        var key = (instance.SopInstanceUid, frame + 1);
        DicomWebFrame result;
        while (true)
        {
            Entry entry;
            Batch? launch = null;
            lock (_gate)
            {
                entry = _entries.TryGetValue(key, out var known) && known.Batch is not { Dropped: true }
                    ? known
                    : DemandBatch(instance, frame + 1).Entries[0];
                entry.Wanted = true;
                if (entry.Batch is { } batch)
                {
                    if (batch.TryStart())
                    {
                        Started(batch);
                        launch = batch;
                    }
                    else if (batch.Dropped)
                    {
                        continue; // a hint dropped between the lookup and now: its entries are gone, ask on demand
                    }
                }
                else if (entry.Node is { List: { } list } held && list == _speculative)
                {
                    Promote(held); // arrived as a neighbour; wanted now
                }
            }
            if (launch is not null)
            {
                Launch(launch);
            }
            try
            {
                result = entry.Done.Task.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The failure is shared by every waiter of the request: each gets its own exception (own stack trace).
                throw ex is SlideException slide
                    ? new SlideException(slide.File, slide.Cause, slide.Level, slide.Tile, slide) { IsCorruptData = slide.IsCorruptData }
                    : new SlideException(FrameUrl(instance.SopInstanceUid, frame + 1), $"{ex.GetType().Name}: {ex.Message}", inner: ex);
            }
            lock (_gate)
            {
                if (_entries.TryGetValue(key, out var held) && held == entry && held.Node is { } node)
                {
                    // Read: among the first to go when room is needed, the least recently read first.
                    if (node.List == _unread)
                    {
                        _unreadBytes -= held.Bytes;
                    }
                    held.WasRead = true;
                    node.List!.Remove(node);
                    _read.AddLast(node);
                }
            }
            break;
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
    /// Fetches frames <paramref name="frames"/> (0-based) of <paramref name="instance"/> ahead of the reader: those
    /// not already held or on their way, in frame order, several per request, with bounded concurrency. Returns at once.
    /// </summary>
    public void Prefetch(DicomInstance instance, IEnumerable<int> frames)
    {
        if (_disposed)
        {
            return;
        }
        var uid = instance.SopInstanceUid;
        var max = Math.Max(1, _series.MaxFramesPerPrefetchRequest);
        var batches = new List<Batch>();
        lock (_gate)
        {
            List<int>? numbers = null;
            foreach (var number in frames.Select(f => f + 1).Where(n => n >= 1 && n <= instance.FrameCount).Distinct().Order())
            {
                if (_entries.TryGetValue((uid, number), out var held) && held.Batch is not { Dropped: true })
                {
                    // Held or on its way: a neighbour nobody asked for becomes wanted (held to the cap, counted as unread).
                    held.Wanted = true;
                    if (held.Node is { List: { } list } node && list == _speculative)
                    {
                        Promote(node);
                    }
                    continue;
                }
                numbers ??= [];
                numbers.Add(number);
                if (numbers.Count == max)
                {
                    batches.Add(Register(uid, numbers, instance.File.TransferSyntax, prefetch: true, FrameEstimate(instance)));
                    numbers = null;
                }
            }
            if (numbers is not null)
            {
                batches.Add(Register(uid, numbers, instance.File.TransferSyntax, prefetch: true, FrameEstimate(instance)));
            }
        }
        foreach (var batch in batches)
        {
            _ = RunHinted(batch);
        }
    }

    /// <summary>
    /// Asks for frame <paramref name="frameNumber"/> as stored (transfer syntax "*"), for an instance whose metadata
    /// does not give its transfer syntax: the answer says which it is. The frame is kept for the reader.
    /// </summary>
    public async Task<string?> ProbeTransferSyntaxAsync(string sopInstanceUid, int frameNumber)
    {
        Interlocked.Increment(ref _requests);
        var frames = await _series.ReadFramesAsync(sopInstanceUid, [frameNumber], "*").ConfigureAwait(false);
        lock (_gate)
        {
            var batch = Register(sopInstanceUid, [frameNumber], "*", prefetch: false, 0);
            batch.Entries[0].Wanted = true;
            batch.TryStart();
            Arrived(batch, frames);
        }
        return frames[0].TransferSyntax;
    }

    public void Dispose()
    {
        _disposed = true;
        _series.Dispose();
    }

    /// <summary>A request for <paramref name="first"/> and the frames after it not already held or on their way (under the lock).</summary>
    private Batch DemandBatch(DicomInstance instance, int first)
    {
        var numbers = new List<int> { first };
        var max = Math.Max(1, _series.MaxFramesPerRequest);
        for (var n = first + 1; n <= instance.FrameCount && numbers.Count < max && !(_entries.TryGetValue((instance.SopInstanceUid, n), out var e) && e.Batch is not { Dropped: true }); n++)
        {
            numbers.Add(n);
        }
        return Register(instance.SopInstanceUid, numbers, instance.File.TransferSyntax, prefetch: false, 0);
    }

    /// <summary>A request not yet started, its frames entered as on their way (wanted when hinted) (under the lock).</summary>
    private Batch Register(string uid, List<int> numbers, string syntax, bool prefetch, long frameEstimate)
    {
        var batch = new Batch(uid, [.. numbers], syntax, prefetch, frameEstimate * numbers.Count);
        for (var k = 0; k < numbers.Count; k++)
        {
            var key = (uid, numbers[k]);
            if (_entries.TryGetValue(key, out var old))
            {
                Remove(key, old); // a dropped hint's leftover
            }
            _entries[key] = batch.Entries[k] = new Entry(batch) { Wanted = prefetch };
        }
        return batch;
    }

    /// <summary>The bytes a frame of <paramref name="instance"/> is expected to take: the average so far, or the native size before any arrived (under the lock).</summary>
    private long FrameEstimate(DicomInstance instance) => _arrivedFrames > 0 ? Math.Max(1, _arrivedBytes / _arrivedFrames) : Math.Max(1, instance.NativeFrameBytes);

    /// <summary>A request was started: a hinted one counts its estimated bytes as in flight until it is answered (under the lock).</summary>
    private void Started(Batch batch)
    {
        if (batch.Prefetched)
        {
            _inFlightHintBytes += batch.EstimatedBytes;
        }
    }

    /// <summary>A request was answered or failed: its estimate is no longer in flight (under the lock).</summary>
    private void Finished(Batch batch)
    {
        if (batch.Prefetched)
        {
            _inFlightHintBytes -= batch.EstimatedBytes;
        }
    }

    /// <summary>A held speculative frame is wanted now: it joins the unread ones (under the lock).</summary>
    private void Promote(LinkedListNode<(string Uid, int Frame)> node)
    {
        _speculative.Remove(node);
        _unread.AddLast(node);
        _unreadBytes += _entries[node.Value].Bytes;
    }

    /// <summary>Runs a hinted request when a slot is free, unless a reader started it first or it would not fit in the cap beside the wanted unread frames and the hinted requests in flight.</summary>
    private async Task RunHinted(Batch batch)
    {
        await _prefetchSlots.WaitAsync().ConfigureAwait(false);
        try
        {
            var run = false;
            lock (_gate)
            {
                if ((_disposed || _unreadBytes + _inFlightHintBytes + batch.EstimatedBytes > _maxHeldBytes) && batch.TryDrop())
                {
                    Interlocked.Increment(ref _droppedHints);
                    for (var k = 0; k < batch.Numbers.Length; k++)
                    {
                        if (_entries.TryGetValue((batch.Uid, batch.Numbers[k]), out var e) && e == batch.Entries[k])
                        {
                            Remove((batch.Uid, batch.Numbers[k]), e);
                        }
                    }
                    return;
                }
                if (batch.TryStart())
                {
                    Started(batch);
                    run = true;
                }
            }
            if (run)
            {
                await Execute(batch).ConfigureAwait(false);
            }
        }
        finally
        {
            _prefetchSlots.Release();
        }
    }

    /// <summary>Runs a request a reader started, off the reader's thread.</summary>
    private void Launch(Batch batch) => _ = Task.Run(() => Execute(batch));

    /// <summary>Sends the request; its frames are held on arrival; every waiter gets its frame or the failure.</summary>
    private async Task Execute(Batch batch)
    {
        Interlocked.Increment(ref _requests);
        if (batch.Prefetched)
        {
            Interlocked.Increment(ref _prefetchRequests);
        }
        IReadOnlyList<DicomWebFrame> frames;
        try
        {
            frames = await _series.ReadFramesAsync(batch.Uid, batch.Numbers, batch.Syntax).ConfigureAwait(false);
            if (frames.Count != batch.Numbers.Length)
            {
                throw new SlideException(FrameUrl(batch.Uid, batch.Numbers[0]), $"the server answered {frames.Count} frame(s) for the {batch.Numbers.Length} asked for");
            }
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                Finished(batch);
                for (var k = 0; k < batch.Numbers.Length; k++)
                {
                    var entry = batch.Entries[k];
                    if (_entries.TryGetValue((batch.Uid, batch.Numbers[k]), out var e) && e == entry)
                    {
                        Remove((batch.Uid, batch.Numbers[k]), e);
                    }
                    entry.Batch = null;
                    entry.Done.TrySetException(ex);
                    _ = entry.Done.Task.Exception; // a hint nobody waits for must not surface as an unobserved exception
                }
            }
            return;
        }
        lock (_gate)
        {
            Finished(batch);
            Arrived(batch, frames);
        }
    }

    /// <summary>
    /// Hands each frame of an answered request to its entry (waiters wake), holds those still wanted, then drops
    /// beyond the cap: speculative frames of earlier requests (oldest first), read ones (least recently read first),
    /// this request's speculative ones, then wanted unread ones farthest ahead (most recently arrived) first (under the lock).
    /// </summary>
    private void Arrived(Batch batch, IReadOnlyList<DicomWebFrame> frames)
    {
        var arrival = ++_arrivals;
        for (var k = 0; k < batch.Numbers.Length; k++)
        {
            var key = (batch.Uid, batch.Numbers[k]);
            var entry = batch.Entries[k];
            entry.Batch = null; // the request is done: it keeps no frame alive through its entries
            _arrivedBytes += frames[k].Data.Length;
            _arrivedFrames++;
            if (_entries.TryGetValue(key, out var e) && e == entry && e.Node is null)
            {
                e.Bytes = frames[k].Data.Length;
                e.Arrival = arrival;
                e.Node = e.Wanted ? _unread.AddLast(key) : _speculative.AddLast(key);
                _heldBytes += e.Bytes;
                if (e.Wanted)
                {
                    _unreadBytes += e.Bytes;
                }
            }
            entry.Done.TrySetResult(frames[k]);
        }
        _peakHeldBytes = Math.Max(_peakHeldBytes, _heldBytes);
        while (_heldBytes > _maxHeldBytes && Victim(arrival) is { } victim)
        {
            var entry = _entries[victim.Value];
            if (!entry.WasRead)
            {
                Interlocked.Increment(ref _droppedFrames);
            }
            Remove(victim.Value, entry);
        }
    }

    /// <summary>The held frame to drop first when room is needed after arrival <paramref name="arrival"/> (under the lock).</summary>
    private LinkedListNode<(string Uid, int Frame)>? Victim(long arrival)
    {
        if (_speculative.First is { } stale && _entries[stale.Value].Arrival < arrival)
        {
            return stale;
        }
        return _read.First ?? _speculative.First ?? _unread.Last;
    }

    private void Remove((string, int) key, Entry entry)
    {
        _entries.Remove(key);
        if (entry.Node is { } node)
        {
            if (node.List == _unread)
            {
                _unreadBytes -= entry.Bytes;
            }
            node.List!.Remove(node);
            _heldBytes -= entry.Bytes;
            entry.Node = null;
        }
    }

    /// <summary>Native pixels are the same bytes in explicit and implicit VR little endian.</summary>
    private static bool SameNativeSyntax(string a, string b) =>
        a is DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian && b is DicomParser.ExplicitVrLittleEndian or DicomParser.ImplicitVrLittleEndian;

    /// <summary>One frames request: waiting (hinted, not yet started), started, or dropped (a hint never sent).</summary>
    private sealed class Batch(string uid, int[] numbers, string syntax, bool prefetched, long estimatedBytes)
    {
        private int _state;

        public string Uid => uid;

        public int[] Numbers => numbers;

        public string Syntax => syntax;

        public bool Prefetched => prefetched;

        /// <summary>For a hinted request, the bytes its frames are expected to take (counted while it is in flight).</summary>
        public long EstimatedBytes => estimatedBytes;

        /// <summary>The entry of each frame asked for, in order.</summary>
        public Entry[] Entries { get; } = new Entry[numbers.Length];

        public bool Dropped => Volatile.Read(ref _state) == 2;

        public bool TryStart() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public bool TryDrop() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;
    }

    /// <summary>One frame: on its way (<see cref="Bytes"/> -1, <see cref="Batch"/> its request) or arrived and held (in one of the three lists).</summary>
    private sealed class Entry(Batch batch)
    {
        /// <summary>The request bringing the frame, until it is answered.</summary>
        public Batch? Batch { get; set; } = batch;

        /// <summary>The frame, or the request's failure, once answered.</summary>
        public TaskCompletionSource<DicomWebFrame> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Bytes { get; set; } = -1;

        public bool WasRead { get; set; }

        /// <summary>Asked for by a reader or hinted; otherwise a neighbour a reader's request brought along.</summary>
        public bool Wanted { get; set; }

        /// <summary>Which arrival brought the frame (the count of answered requests then).</summary>
        public long Arrival { get; set; }

        public LinkedListNode<(string Uid, int Frame)>? Node { get; set; }
    }
}
