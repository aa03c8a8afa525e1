using System.Net;

namespace Histoscale.Storage.Tests.Support;

/// <summary>Counts the faults injected, by kind.</summary>
public sealed class FaultLog
{
    private readonly int[] _counts = new int[Enum.GetValues<Fault>().Length];

    public int Injected => _counts.Sum();

    public int Count(Fault fault) => Volatile.Read(ref _counts[(int)fault]);

    internal void Record(Fault fault) => Interlocked.Increment(ref _counts[(int)fault]);
}

/// <summary>What a faulty store does to a request.</summary>
public enum Fault
{
    None,
    DropConnection,
    ServiceUnavailable,
    Throttle429,
    StallMidBody,
    TruncateBody,
}

/// <summary>
/// Sits under a store client's HTTP stack and breaks a seeded fraction of ranged GETs the ways real stores do:
/// the connection drops, 503 SlowDown, 429, a body that stalls half way (until the client gives up), or a body
/// cut short. Metadata requests pass untouched so each test aims at the data path.
/// </summary>
public sealed class FaultInjectingHandler(HttpMessageHandler inner, double fraction, int seed, params Fault[] faults) : DelegatingHandler(inner)
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    /// <summary>Shared by every handler a client creates (an SDK may build more than one), so a test sees all faults.</summary>
    public FaultLog Log { get; init; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var fault = Pick(request);
        switch (fault)
        {
            case Fault.DropConnection:
                throw new HttpRequestException("injected: connection reset by peer", new IOException("connection reset"));
            case Fault.ServiceUnavailable:
                return Error(request, HttpStatusCode.ServiceUnavailable, "SlowDown", "Please reduce your request rate.");
            case Fault.Throttle429:
                return Error(request, HttpStatusCode.TooManyRequests, "TooManyRequests", "Too many requests.");
        }
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (fault is Fault.StallMidBody or Fault.TruncateBody && response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var half = new byte[body.Length / 2];
            Array.Copy(body, half, half.Length);
            var content = new StreamContent(new FaultyStream(half, stall: fault == Fault.StallMidBody));
            foreach (var h in response.Content.Headers)
            {
                content.Headers.TryAddWithoutValidation(h.Key, h.Value); // Content-Length still promises the whole body
            }
            response.Content = content;
        }
        return response;
    }

    private Fault Pick(HttpRequestMessage request)
    {
        // Data reads: S3 and GCS send Range, Azure x-ms-range; GCS media downloads also say alt=media.
        var isRead = request.Headers.Range is not null || request.Headers.Contains("x-ms-range") ||
            request.RequestUri?.Query.Contains("alt=media", StringComparison.Ordinal) == true;
        if (request.Method != HttpMethod.Get || !isRead || faults.Length == 0)
        {
            return Fault.None;
        }
        lock (_gate)
        {
            if (_random.NextDouble() >= fraction)
            {
                return Fault.None;
            }
            var fault = faults[_random.Next(faults.Length)];
            Log.Record(fault);
            return fault;
        }
    }

    private static HttpResponseMessage Error(HttpRequestMessage request, HttpStatusCode status, string code, string message) => new(status)
    {
        RequestMessage = request,
        Content = new StringContent($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>",
            System.Text.Encoding.UTF8, "application/xml"),
    };

    /// <summary>Serves its bytes, then either blocks until the reader cancels (a stall) or ends early (truncation).</summary>
    private sealed class FaultyStream(byte[] bytes, bool stall) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < bytes.Length)
            {
                var n = Math.Min(buffer.Length, bytes.Length - _position);
                bytes.AsSpan(_position, n).CopyTo(buffer.Span);
                _position += n;
                return n;
            }
            if (stall)
            {
                // Bounded even if nobody cancels, so a broken client fails the test instead of hanging it.
                await Task.Delay(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            }
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
