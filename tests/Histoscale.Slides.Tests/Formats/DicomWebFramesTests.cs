using System.Globalization;
using System.Text;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Formats.Dicom;
using Histoscale.Slides.Sources;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>
/// How a DICOMweb series' frames are fetched (<see cref="DicomWebFrames"/>), against an in-memory series that
/// counts its requests: prefetch hints fetch the hinted frames ahead in multi-frame requests with bounded
/// concurrency, so reading them needs no more requests; the frames held for the reader are capped in bytes (earlier
/// speculative neighbours dropped first, then the least recently read, then unread ones farthest ahead first), hints
/// start only when they fit in the cap beside the unread frames and hints in flight, and a reader still gets every frame right. (Against a real server: the Orthanc tests
/// in Histoscale.Storage.Tests.)
/// </summary>
public sealed class DicomWebFramesTests
{
    private const int Tile = 32;
    private const int Across = 10;
    private const int Down = 10;
    private const int FrameBytes = Tile * Tile * 3;

    /// <summary>One native RGB instance of 10×10 frames of 32 px; frame n is grey n % 251.</summary>
    private sealed class Series : IDicomWebSeries, IDicomWebProvider, IByteSourceProvider
    {
        private readonly Lock _gate = new();
        private int _inFlight;

        public string Name => "http://fake/dicom-web/studies/1.2.3/series/1.2.3.4";

        public int MaxFramesPerRequest { get; init; } = 4;

        public int MaxFramesPerPrefetchRequest { get; init; } = 16;

        public int MaxConcurrentRequests { get; init; } = 2;

        public long MaxHeldFrameBytes { get; init; } = 64L << 20;

        /// <summary>When set, every request waits for it, then fails (if <see cref="FailWith"/>) or answers.</summary>
        public TaskCompletionSource? Gate { get; init; }

        /// <summary>When set, every request fails with this cause.</summary>
        public string? FailWith { get; init; }

        /// <summary>Each request's frame numbers, in the order the requests came.</summary>
        public List<int[]> Requests { get; } = [];

        public int MaxInFlight { get; private set; }

        public int FramesServed { get; private set; }

        public bool Idle
        {
            get
            {
                lock (_gate)
                {
                    return _inFlight == 0;
                }
            }
        }

        public static byte[] Metadata => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""
            [{ "00080016": {"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.77.1.6"]},
               "00080018": {"vr":"UI","Value":["1.2.3.4.1"]},
               "0020000E": {"vr":"UI","Value":["1.2.3.4"]},
               "00080008": {"vr":"CS","Value":["ORIGINAL","PRIMARY","VOLUME","NONE"]},
               "00020010": {"vr":"UI","Value":["1.2.840.10008.1.2.1"]},
               "00280010": {"vr":"US","Value":[{{Tile}}]},
               "00280011": {"vr":"US","Value":[{{Tile}}]},
               "00480006": {"vr":"UL","Value":[{{Tile * Across}}]},
               "00480007": {"vr":"UL","Value":[{{Tile * Down}}]},
               "00280008": {"vr":"IS","Value":[{{Across * Down}}]},
               "00280002": {"vr":"US","Value":[3]},
               "00280100": {"vr":"US","Value":[8]},
               "00280004": {"vr":"CS","Value":["RGB"]},
               "00209311": {"vr":"CS","Value":["TILED_FULL"]} }]
            """));

        public Task<byte[]> ReadMetadataAsync(CancellationToken cancellationToken = default) => Task.FromResult(Metadata);

        public async Task<IReadOnlyList<DicomWebFrame>> ReadFramesAsync(string sopInstanceUid, IReadOnlyList<int> frameNumbers, string? transferSyntax, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                Requests.Add([.. frameNumbers]);
                MaxInFlight = Math.Max(MaxInFlight, ++_inFlight);
            }
            try
            {
                await Task.Delay(10, cancellationToken); // so requests started together overlap
                if (Gate is not null)
                {
                    await Gate.Task;
                }
                if (FailWith is not null)
                {
                    throw new SlideException(Name + "/frames", FailWith);
                }
                return [.. frameNumbers.Select(n => new DicomWebFrame(Enumerable.Repeat((byte)(n % 251), FrameBytes).ToArray(), "1.2.840.10008.1.2.1"))];
            }
            finally
            {
                lock (_gate)
                {
                    _inFlight--;
                    FramesServed += frameNumbers.Count;
                }
            }
        }

        public IDicomWebSeries OpenDicomWebSeries(Uri seriesUrl) => this;

        public bool CanOpen(Uri uri) => false;

        public IByteSource Open(Uri uri) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        public int RequestCount
        {
            get
            {
                lock (_gate)
                {
                    return Requests.Count;
                }
            }
        }
    }

    private static IEnumerable<(long, long)> AllTiles() => Enumerable.Range(0, Across * Down).Select(i => ((long)(i % Across), (long)(i / Across)));

    private static void WaitFor(Func<bool> done)
    {
        // A bound, not a timing: the fake answers in milliseconds.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "prefetch did not finish within 60 s");
            Thread.Sleep(5);
        }
    }

    private static void AssertTile(ReadOnlySpan<byte> rgba, int frameNumber, string what)
    {
        var grey = (byte)(frameNumber % 251);
        for (var p = 0; p < Tile * Tile; p++)
        {
            Assert.True(rgba[p * 4] == grey && rgba[(p * 4) + 1] == grey && rgba[(p * 4) + 2] == grey && rgba[(p * 4) + 3] == 255, $"{what}: pixel {p} is not frame {frameNumber}'s");
        }
    }

    [Fact]
    public void HintedFramesComeAheadInMultiFrameRequestsWithBoundedConcurrency()
    {
        var series = new Series();
        using var slide = Slide.Open(series.Name, new SlideOptions { Cache = null, Sources = [series] });
        Assert.Empty(series.Requests); // the metadata gives the transfer syntax: nothing probed

        Assert.True(slide.PrefetchTiles(0, AllTiles()));
        WaitFor(() => series.FramesServed == Across * Down && series.Idle);
        // 100 frames in frame order, 16 to a request, at most 2 requests in flight.
        Assert.Equal(7, series.RequestCount);
        Assert.Equal(Enumerable.Range(1, 100), series.Requests.SelectMany(r => r).Order());
        Assert.All(series.Requests, r => Assert.InRange(r.Length, 1, 16));
        Assert.InRange(series.MaxInFlight, 1, 2);

        // Every tile is here: reading the level asks for nothing more.
        var level = slide.ReadRegion(0, 0, 0, Tile * Across, Tile * Down).Pixels;
        Assert.Equal(7, series.RequestCount);
        var tile = new byte[Tile * Tile * 4];
        for (var i = 0; i < Across * Down; i++)
        {
            for (var y = 0; y < Tile; y++)
            {
                level.AsSpan((((((i / Across) * Tile) + y) * Tile * Across) + ((i % Across) * Tile)) * 4, Tile * 4).CopyTo(tile.AsSpan(y * Tile * 4));
            }
            AssertTile(tile, i + 1, $"tile {i}");
        }
    }

    [Fact]
    public void HeldFramesAreCappedInBytesReadOnesFirstThenTheLeastRecentlyUsed()
    {
        const long Cap = 6 * FrameBytes;
        var series = new Series { MaxFramesPerRequest = 4, MaxHeldFrameBytes = Cap };
        var layout = DicomFormat.OpenDicomWeb(series, Series.Metadata, JpegSimd.Auto);
        var frames = Assert.IsType<DicomWebFrames>(Assert.Single(layout.Owned));
        var level = layout.Levels[0];
        var rgba = new byte[Tile * Tile * 4];
        void Decode(long col, int frameNumber)
        {
            level.DecodeTile(col, 0, rgba);
            AssertTile(rgba, frameNumber, $"frame {frameNumber}");
            Assert.True(frames.HeldBytes <= Cap, $"{frames.HeldBytes} bytes held, cap {Cap}");
        }

        Decode(0, 1); // frames 1-4 come: 1 read, 2-4 neighbours nobody asked for (speculative); all held
        Assert.Equal(4 * FrameBytes, frames.HeldBytes);
        Assert.Equal(0, frames.UnreadBytes); // speculative frames are not counted as wanted
        Decode(8, 9); // frames 9-12 come: 8 would be held, so the earlier speculative 2 and 3 go, not the read 1
        Assert.Equal(Cap, frames.HeldBytes);
        Assert.Equal(2, frames.DroppedFrames);
        Assert.Equal(new[] { new[] { 1, 2, 3, 4 }, new[] { 9, 10, 11, 12 } }, series.Requests);

        Decode(3, 4); // held (speculative): no request
        Decode(0, 1); // read before, still held: no request
        Assert.Equal(2, series.RequestCount);
        Decode(1, 2); // dropped: asked for again with 3 (4 is held); the speculative 10 and 11 of the earlier request make room
        Assert.Equal(new[] { 2, 3 }, series.Requests[2]);
        Decode(2, 3); // held: no request
        Decode(8, 9); // read, still held: no request
        Assert.Equal(3, series.RequestCount);
        Assert.Equal(4, frames.DroppedFrames);
        // Held: read 4, 1, 2, 3, 9 (least recently read first), speculative 12. Frames 6-8 come: 9 frames for 6 places,
        // counted before the evictions: the stale speculative 12 goes, then the least recently read 4 and 1.
        Decode(5, 6);
        Assert.Equal(new[] { 6, 7, 8 }, series.Requests[3]);
        Assert.Equal(Cap, frames.HeldBytes);
        Assert.Equal(9 * FrameBytes, frames.PeakHeldBytes);
        Decode(2, 3); // read, still held
        Decode(6, 7); // speculative, still held
        Assert.Equal(4, series.RequestCount);
        Decode(0, 1); // dropped as the least recently read: asked for again
        Assert.Equal(5, series.RequestCount);
        foreach (var o in layout.Owned)
        {
            o.Dispose();
        }
    }

    [Fact]
    public void HeldBytesNeverExceedTheCapWhenHintsRunFarAhead()
    {
        // Room for 10 frames; the whole level (100) hinted at once, as a plan far ahead of a slow reader would.
        var cap = 10L * FrameBytes;
        var series = new Series { MaxFramesPerPrefetchRequest = 4, MaxConcurrentRequests = 2, MaxHeldFrameBytes = cap };
        var layout = DicomFormat.OpenDicomWeb(series, Series.Metadata, JpegSimd.Auto);
        var frames = Assert.IsType<DicomWebFrames>(Assert.Single(layout.Owned));
        var level = (DicomTiledImage)layout.Levels[0];

        level.Prefetch(AllTiles());
        WaitFor(() => frames.Pending == 0 && series.Idle);
        Assert.InRange(frames.HeldBytes, 1, cap);
        Assert.True(frames.PeakHeldBytes <= cap, $"peak {frames.PeakHeldBytes} bytes held by hints, cap {cap}");
        Assert.True(frames.DroppedHints > 0, "hints beyond the cap should have been dropped, not fetched");
        Assert.True(series.FramesServed < Across * Down, $"{series.FramesServed} frames fetched ahead for a 10-frame cap");

        // The reader gets every frame right: held, or fetched on demand.
        var rgba = new byte[Tile * Tile * 4];
        foreach (var (col, row) in AllTiles())
        {
            level.DecodeTile(col, row, rgba);
            AssertTile(rgba, (int)((row * Across) + col + 1), $"tile ({col},{row})");
            Assert.True(frames.HeldBytes <= cap);
        }
        // Counted before evictions, a reader's own request of 4 frames may overshoot the cap until it is made room for.
        Assert.True(frames.PeakHeldBytes <= cap + (4 * FrameBytes), $"peak {frames.PeakHeldBytes} bytes held, cap {cap}");
        foreach (var o in layout.Owned)
        {
            o.Dispose();
        }
    }

    [Fact]
    public void ReadersWaitingForOneFailedRequestEachGetTheirOwnException()
    {
        // Two readers wait for the same request (frames 1-4); it fails. Each gets its own exception (its own stack
        // trace), the request's failure inside, not one instance thrown on two threads.
        var series = new Series { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), FailWith = "HTTP 503 (gave up after 3 attempts)" };
        var layout = DicomFormat.OpenDicomWeb(series, Series.Metadata, JpegSimd.Auto);
        var level = layout.Levels[0];
        var errors = new Exception?[2];
        Thread Reader(int i) => new(() => errors[i] = Record.Exception(() => level.DecodeTile(i, 0, new byte[Tile * Tile * 4])));
        var first = Reader(0);
        first.Start();
        WaitFor(() => series.RequestCount == 1);
        var second = Reader(1);
        second.Start();
        WaitFor(() => (second.ThreadState & ThreadState.WaitSleepJoin) != 0);
        series.Gate!.SetResult();
        first.Join();
        second.Join();
        Assert.Equal(1, series.RequestCount); // both waited for the one request
        var (a, b) = (Assert.IsType<SlideException>(errors[0]), Assert.IsType<SlideException>(errors[1]));
        Assert.Contains("HTTP 503", a.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 503", b.Message, StringComparison.Ordinal);
        Assert.NotSame(a.InnerException, b.InnerException);
        Assert.Same(a.InnerException!.InnerException, b.InnerException!.InnerException); // the request's one failure, inside each
        foreach (var o in layout.Owned)
        {
            o.Dispose();
        }
    }

    [Fact]
    public void HintsStartedTogetherFitInTheCapAndDropNoFrameTheReaderNeedsNext()
    {
        // Room for 10 frames; hints of 4 frames, 4 requests at once: started together, 16 frames would arrive and push
        // out the frames to be read next. Counting the hints in flight, only 2 start.
        var cap = 10L * FrameBytes;
        var series = new Series { MaxFramesPerPrefetchRequest = 4, MaxConcurrentRequests = 4, MaxHeldFrameBytes = cap };
        var layout = DicomFormat.OpenDicomWeb(series, Series.Metadata, JpegSimd.Auto);
        var frames = Assert.IsType<DicomWebFrames>(Assert.Single(layout.Owned));
        var level = (DicomTiledImage)layout.Levels[0];

        level.Prefetch(AllTiles());
        WaitFor(() => frames.Pending == 0 && series.Idle);
        Assert.Equal(0, frames.DroppedFrames);
        Assert.True(frames.PeakHeldBytes <= cap, $"peak {frames.PeakHeldBytes} bytes held, cap {cap}");
        Assert.Equal(new[] { new[] { 1, 2, 3, 4 }, new[] { 5, 6, 7, 8 } }, series.Requests);

        var rgba = new byte[Tile * Tile * 4];
        for (var i = 0; i < 8; i++)
        {
            level.DecodeTile(i, 0, rgba);
            AssertTile(rgba, i + 1, $"tile ({i},0)");
        }
        Assert.Equal(2, series.RequestCount); // all 8 were held
        foreach (var o in layout.Owned)
        {
            o.Dispose();
        }
    }

    [Fact]
    public void NeighboursOfSparseReadsNeverRead_DoNotBlockLaterHints()
    {
        // QC focus sampling reads scattered tiles; each request brings 3 neighbours that are never read. They must not
        // count as the reader being behind, or every later hint is dropped.
        var cap = 10L * FrameBytes;
        var series = new Series { MaxFramesPerRequest = 4, MaxFramesPerPrefetchRequest = 4, MaxHeldFrameBytes = cap };
        var layout = DicomFormat.OpenDicomWeb(series, Series.Metadata, JpegSimd.Auto);
        var frames = Assert.IsType<DicomWebFrames>(Assert.Single(layout.Owned));
        var level = (DicomTiledImage)layout.Levels[0];
        var rgba = new byte[Tile * Tile * 4];
        for (var row = 0; row < 3; row++)
        {
            level.DecodeTile(0, row, rgba);
            AssertTile(rgba, (row * Across) + 1, $"tile (0,{row})");
        }
        Assert.Equal(3, series.RequestCount);
        Assert.Equal(0, frames.UnreadBytes);

        level.Prefetch([(0, 5), (1, 5), (2, 5), (3, 5)]);
        WaitFor(() => frames.Pending == 0 && series.Idle);
        Assert.Equal(0, frames.DroppedHints);
        Assert.Equal(new[] { 51, 52, 53, 54 }, series.Requests[3]);
        for (var col = 0; col < 4; col++)
        {
            level.DecodeTile(col, 5, rgba);
            AssertTile(rgba, 51 + col, $"tile ({col},5)");
        }
        Assert.Equal(4, series.RequestCount); // the hinted frames were held: reading them asks for nothing
        Assert.True(frames.HeldBytes <= cap);
        foreach (var o in layout.Owned)
        {
            o.Dispose();
        }
    }
}
