using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Histoscale.Slides;
using Histoscale.Storage.DicomWeb;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Tests;

/// <summary>
/// How <see cref="DicomWebSeriesClient"/> tells a server that refuses frame lists from a list it refuses for its own
/// reasons, and how many one-frame requests it runs at once, against an in-process WADO-RS frames endpoint (frame n
/// is n bytes of value n). (Against Orthanc behind a refusing proxy: DicomWebTests.)
/// </summary>
public sealed class DicomWebFrameListTests
{
    private const string Series = "http://127.0.0.1:1/dicom-web/studies/1.2/series/3.4";

    private sealed class Server : HttpMessageHandler
    {
        private readonly Lock _gate = new();
        private int _inFlight;

        /// <summary>Refuse every request for several frames with this status (lists not supported).</summary>
        public int? RefuseLists { get; init; }

        /// <summary>Answer 400 for any request naming a frame above this (a bad frame number).</summary>
        public int LastFrame { get; init; } = int.MaxValue;

        public List<string> Requests { get; } = [];

        public int MaxInFlight { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var numbers = request.RequestUri!.AbsolutePath.Split("/frames/")[1].Split(',').Select(int.Parse).ToArray();
            lock (_gate)
            {
                Requests.Add(string.Join(',', numbers));
                MaxInFlight = Math.Max(MaxInFlight, ++_inFlight);
            }
            try
            {
                await Task.Delay(20, cancellationToken); // so requests started together overlap
                if ((numbers.Length > 1 && RefuseLists is { } status) || numbers.Any(n => n > LastFrame))
                {
                    return new HttpResponseMessage((HttpStatusCode)(RefuseLists ?? 400)) { ReasonPhrase = "Refused" };
                }
                var body = new MemoryStream();
                foreach (var n in numbers)
                {
                    body.Write(Encoding.ASCII.GetBytes("--b\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n"));
                    body.Write(Enumerable.Repeat((byte)n, n).ToArray());
                    body.Write("\r\n"u8);
                }
                body.Write("--b--\r\n"u8);
                var content = new ByteArrayContent(body.ToArray());
                content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/related; type=\"application/octet-stream\"; boundary=b");
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
            }
            finally
            {
                lock (_gate)
                {
                    _inFlight--;
                }
            }
        }
    }

    private static StorageOptions Options(int concurrency = 4) => new()
    {
        DicomWebConcurrency = concurrency,
        Strategy = StorageStrategy.Default with { Retry = new RetryOptions { MaxAttempts = 1 } },
    };

    [Fact]
    public async Task ARefusedListOfABadFrameNumberIsTheErrorAndTheServerIsNotMarkedAsRefusingLists()
    {
        var server = new Server { LastFrame = 10 };
        using var http = new HttpClient(server);
        var warnings = new List<string>();
        var servers = new DicomWebServers(warnings.Add);
        var client = new DicomWebSeriesClient(http, new Uri(Series), Series, Options(), servers);

        var error = await Assert.ThrowsAsync<SlideException>(() => client.ReadFramesAsync("5.6", [9, 10, 11, 12], null));
        Assert.Contains("frames/9,10,11,12", error.Message, StringComparison.Ordinal);
        Assert.Contains("400", error.Message, StringComparison.Ordinal);
        Assert.False(servers.RefusesFrameLists(DicomWebServers.ServiceRoot(Series)));
        Assert.Empty(warnings);
        Assert.True(client.MaxFramesPerRequest > 1);

        // Lists still go as lists.
        var frames = await client.ReadFramesAsync("5.6", [1, 2, 3], null);
        Assert.Equal([1, 2, 3], frames.Select(f => f.Data.Length));
        Assert.Equal("1,2,3", server.Requests[^1]);
    }

    [Fact]
    public async Task AServerRefusingListsGetsOneFramePerRequestWithinTheConcurrencyLimit()
    {
        var server = new Server { RefuseLists = 406 };
        using var http = new HttpClient(server);
        var warnings = new List<string>();
        var servers = new DicomWebServers(warnings.Add);
        var client = new DicomWebSeriesClient(http, new Uri(Series), Series, Options(concurrency: 2), servers);

        var frames = await client.ReadFramesAsync("5.6", [.. Enumerable.Range(1, 16)], null);
        Assert.Equal(Enumerable.Range(1, 16), frames.Select(f => f.Data.Length));
        Assert.All(frames, f => Assert.All(f.Data, b => Assert.Equal(f.Data.Length, b)));
        Assert.True(servers.RefusesFrameLists(DicomWebServers.ServiceRoot(Series)));
        Assert.Contains("one frame per request from now on", Assert.Single(warnings), StringComparison.Ordinal);
        Assert.Equal(1, client.MaxFramesPerRequest);
        Assert.InRange(server.MaxInFlight, 1, 2);
    }
}
