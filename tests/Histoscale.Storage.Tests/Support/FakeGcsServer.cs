using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Histoscale.Storage.Tests.Support;

/// <summary>
/// A loopback stand-in for the GCS JSON API, just the parts a reader uses: object metadata, media download with
/// Range (both the /storage/v1 alt=media and the /download/storage/v1 forms) and prefix listing. No GCS emulator
/// installs from the registries this project can reach (firebase-tools' one needs Java 21), so the GCS provider
/// is tested against this; what it does not cover is listed in docs/data-loading.md.
/// </summary>
public sealed class FakeGcsServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<(string Bucket, string Name), StoredObject> _objects = new();
    private long _generation;
    private readonly CancellationTokenSource _stop = new();

    public FakeGcsServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>The value for STORAGE_EMULATOR_HOST.</summary>
    public string Host => $"http://127.0.0.1:{Port}";

    /// <summary>Stores an object; each write is a new generation with its own etag, as in GCS.</summary>
    public void Put(string bucket, string name, byte[] bytes)
    {
        var generation = Interlocked.Increment(ref _generation);
        _objects[(bucket, name)] = new StoredObject(bytes, generation, Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(bytes)), DateTime.UtcNow);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => Serve(ctx));
        }
    }

    private void Serve(HttpListenerContext ctx)
    {
        var response = ctx.Response;
        try
        {
            var raw = ctx.Request.RawUrl ?? "/";
            var q = raw.IndexOf('?');
            var path = q < 0 ? raw : raw[..q];
            var query = q < 0 ? "" : raw[(q + 1)..];
            var download = path.StartsWith("/download/", StringComparison.Ordinal);
            var parts = (download ? path["/download".Length..] : path).Split('/', StringSplitOptions.RemoveEmptyEntries);
            // [/storage/v1]/b/{bucket}/o[/{object}]: the client drops the service path when talking to an emulator
            if (parts.Length >= 2 && parts[0] == "storage")
            {
                parts = parts[2..];
            }
            if (parts.Length < 3 || parts[0] != "b" || parts[2] != "o")
            {
                Json(response, 400, new { error = new { code = 400, message = $"unsupported path {path}" } });
                return;
            }
            var bucket = parts[1];
            if (parts.Length == 3)
            {
                var prefix = Param(query, "prefix") ?? "";
                var items = _objects.Where(kv => kv.Key.Bucket == bucket && kv.Key.Name.StartsWith(prefix, StringComparison.Ordinal))
                    .OrderBy(kv => kv.Key.Name, StringComparer.Ordinal)
                    .Select(kv => Meta(bucket, kv.Key.Name, kv.Value)).ToList();
                Json(response, 200, new { kind = "storage#objects", items });
                return;
            }
            var name = Uri.UnescapeDataString(string.Join('/', parts[3..]));
            if (!_objects.TryGetValue((bucket, name), out var stored))
            {
                Json(response, 404, new { error = new { code = 404, message = $"No such object: {bucket}/{name}" } });
                return;
            }
            if (!download && Param(query, "alt") != "media")
            {
                Json(response, 200, Meta(bucket, name, stored));
                return;
            }
            Media(ctx.Request, response, stored.Bytes);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the client went away
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    private static void Media(HttpListenerRequest request, HttpListenerResponse response, byte[] bytes)
    {
        var (start, end) = (0L, bytes.Length - 1L);
        var status = 200;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            var spec = range["bytes=".Length..].Split('-');
            start = long.Parse(spec[0], System.Globalization.CultureInfo.InvariantCulture);
            end = spec[1].Length > 0 ? Math.Min(long.Parse(spec[1], System.Globalization.CultureInfo.InvariantCulture), bytes.Length - 1) : bytes.Length - 1;
            if (start >= bytes.Length)
            {
                response.StatusCode = 416;
                return;
            }
            status = 206;
            response.AddHeader("Content-Range", $"bytes {start}-{end}/{bytes.Length}");
        }
        response.StatusCode = status;
        response.ContentType = "application/octet-stream";
        response.ContentLength64 = end - start + 1;
        response.OutputStream.Write(bytes, (int)start, (int)(end - start + 1));
    }

    private static object Meta(string bucket, string name, StoredObject o) => new Dictionary<string, object>
    {
        ["kind"] = "storage#object",
        ["id"] = $"{bucket}/{name}/{o.Generation}",
        ["name"] = name,
        ["bucket"] = bucket,
        ["generation"] = o.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["etag"] = o.ETag,
        ["md5Hash"] = o.ETag,
        ["updated"] = o.Updated.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        ["size"] = o.Bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["contentType"] = "application/octet-stream",
    };

    private sealed record StoredObject(byte[] Bytes, long Generation, string ETag, DateTime Updated);

    private static string? Param(string query, string key)
    {
        foreach (var kv in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = kv.IndexOf('=');
            if (eq > 0 && kv[..eq] == key)
            {
                return Uri.UnescapeDataString(kv[(eq + 1)..]);
            }
        }
        return null;
    }

    private static void Json(HttpListenerResponse response, int status, object body)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body));
        response.StatusCode = status;
        response.ContentType = "application/json; charset=UTF-8";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }
}
