using System.Net;
using System.Net.Sockets;

namespace Histoscale.Slides.Tests.Support;

/// <summary>
/// A loopback HTTP server serving one file with byte ranges (HttpListener), with optional misbehaviour:
/// ignoring ranges, truncating bodies, failing with a status code, or changing its ETag.
/// </summary>
public sealed class RangeServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly byte[] _content;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _requests;

    public RangeServer(byte[] content)
    {
        _content = content;
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}/slide.svs";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Every Nth GET answers with a body cut short (0 = never).</summary>
    public int TruncateEvery { get; set; }

    public bool IgnoreRanges { get; set; }


    public int? FailWithStatus { get; set; }

    /// <summary>The next this-many requests answer <see cref="FailNextStatus"/>; later ones are served normally.</summary>
    public int FailNext;

    public int FailNextStatus { get; set; } = 503;

    /// <summary>ETag header value of every answer (quoted, as servers send it); null sends none. Change it to play a file replaced mid-read.</summary>
    public string? ETag { get; set; }

    /// <summary>Last-Modified header; null sends none.</summary>
    public DateTimeOffset? LastModified { get; set; }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(2000);
        }
        catch (AggregateException)
        {
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Serve(context));
        }
    }

    private void Serve(HttpListenerContext context)
    {
        var n = Interlocked.Increment(ref _requests);
        var response = context.Response;
        try
        {
            if (FailWithStatus is { } status)
            {
                response.StatusCode = status;
                response.Close();
                return;
            }
            if (Interlocked.Decrement(ref FailNext) >= 0)
            {
                response.StatusCode = FailNextStatus;
                response.Close();
                return;
            }
            response.Headers["Accept-Ranges"] = "bytes";
            if (ETag is { } etag)
            {
                response.Headers["ETag"] = etag;
            }
            if (LastModified is { } modified)
            {
                response.Headers["Last-Modified"] = modified.ToString("R");
            }
            var range = context.Request.Headers["Range"];
            long from = 0, to = _content.Length - 1;
            if (range is not null && !IgnoreRanges && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                var parts = range[6..].Split('-');
                from = long.Parse(parts[0]);
                to = parts[1].Length > 0 ? Math.Min(long.Parse(parts[1]), _content.Length - 1) : _content.Length - 1;
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {from}-{to}/{_content.Length}";
            }
            var length = (int)(to - from + 1);
            response.ContentLength64 = length;
            if (context.Request.HttpMethod == "HEAD")
            {
                response.Close();
                return;
            }
            var send = TruncateEvery > 0 && n % TruncateEvery == 0 ? length / 2 : length;
            response.OutputStream.Write(_content, (int)from, send);
            if (send < length)
            {
                response.Abort(); // drop the connection mid-body
                return;
            }
            response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
        {
        }
    }
}
