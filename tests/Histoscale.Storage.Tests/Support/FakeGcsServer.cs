using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Histoscale.Storage.Tests.Support;

/// <summary>
/// A loopback stand-in for the GCS JSON API, just the parts the provider uses: object metadata, media download with
/// Range (both the /storage/v1 alt=media and the /download/storage/v1 forms), prefix listing, resumable uploads
/// (/upload/storage/v1 ... uploadType=resumable: the object appears only when its last chunk arrives, as in GCS)
/// and delete. No GCS emulator installs from the registries this project can reach (firebase-tools' one needs
/// Java 21), so the GCS provider is tested against this; what it does not cover is listed in docs/data-loading.md.
/// </summary>
public sealed class FakeGcsServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<(string Bucket, string Name), StoredObject> _objects = new();
    private long _generation;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, UploadSession> _uploads = new();

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

    /// <summary>An object's bytes, or null when there is none.</summary>
    public byte[]? Get(string bucket, string name) => _objects.TryGetValue((bucket, name), out var o) ? o.Bytes : null;

    /// <summary>The names of a bucket's objects under a prefix, in order.</summary>
    public IReadOnlyList<string> Names(string bucket, string prefix = "") =>
        [.. _objects.Keys.Where(k => k.Bucket == bucket && k.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(k => k.Name).Order(StringComparer.Ordinal)];

    /// <summary>Resumable uploads started and not finished (an upload cut short never becomes an object).</summary>
    public int UnfinishedUploads => _uploads.Count;

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
            // Uploads: /upload/storage/v1/b/... from the real service's layout, /b/... when the client is given an emulator base URI.
            if (path.StartsWith("/upload/", StringComparison.Ordinal) || Param(query, "uploadType") is not null || Param(query, "upload_id") is not null)
            {
                Upload(ctx.Request, response, path, query);
                return;
            }
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
            if (ctx.Request.HttpMethod == "DELETE")
            {
                if (_objects.TryRemove((bucket, name), out _))
                {
                    response.StatusCode = 204;
                }
                else
                {
                    Json(response, 404, new { error = new { code = 404, message = $"No such object: {bucket}/{name}" } });
                }
                return;
            }
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
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            // a request this fake does not understand: say so rather than answer an empty 200
            try
            {
                Json(response, 500, new { error = new { code = 500, message = $"fake GCS server: {ex.GetType().Name}: {ex.Message}" } });
            }
            catch (Exception inner) when (inner is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
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

    /// <summary>
    /// Resumable uploads: POST .../b/{bucket}/o?uploadType=resumable (metadata with the name) opens a session whose
    /// URL comes back in Location; PUTs with Content-Range append chunks (308 with the Range received until the last);
    /// the last chunk stores the object (a new generation) and answers its metadata.
    /// </summary>
    private void Upload(HttpListenerRequest request, HttpListenerResponse response, string path, string query)
    {
        if (Param(query, "upload_id") is { } id)
        {
            if (request.HttpMethod != "PUT" || !_uploads.TryGetValue(id, out var session))
            {
                Json(response, 404, new { error = new { code = 404, message = $"no upload session {id}" } });
                return;
            }
            using var chunk = new MemoryStream();
            Body(request).CopyTo(chunk);
            lock (session)
            {
                session.Data.Write(chunk.GetBuffer(), 0, (int)chunk.Length);
                // Content-Range: bytes FIRST-LAST/TOTAL, bytes FIRST-LAST/*, or bytes */TOTAL (no bytes in this request)
                var range = request.Headers["Content-Range"] ?? "";
                var slash = range.LastIndexOf('/');
                var totalText = slash >= 0 ? range[(slash + 1)..] : "*";
                var total = totalText == "*" ? -1 : long.Parse(totalText, System.Globalization.CultureInfo.InvariantCulture);
                if (total < 0 || session.Data.Length < total)
                {
                    response.StatusCode = 308;
                    if (session.Data.Length > 0)
                    {
                        response.AddHeader("Range", $"bytes=0-{session.Data.Length - 1}");
                    }
                    return;
                }
                _uploads.TryRemove(id, out _);
                Put(session.Bucket, session.Name, session.Data.ToArray());
            }
            Json(response, 200, Meta(session.Bucket, session.Name, _objects[(session.Bucket, session.Name)]));
            return;
        }
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries); // upload, storage, v1, b, {bucket}, o
        var b = Array.IndexOf(parts, "b");
        if (request.HttpMethod != "POST" || Param(query, "uploadType") != "resumable" || b < 0 || b + 2 >= parts.Length || parts[b + 2] != "o")
        {
            Json(response, 400, new { error = new { code = 400, message = $"unsupported upload {request.HttpMethod} {path}?{query} (this fake takes resumable uploads only)" } });
            return;
        }
        var bucket = parts[b + 1];
        using var body = new StreamReader(Body(request), Encoding.UTF8);
        var text = body.ReadToEnd();
        var name = Param(query, "name");
        if (name is null && text.Length > 0)
        {
            using var doc = JsonDocument.Parse(text);
            name = doc.RootElement.TryGetProperty("name", out var n) ? n.GetString() : null;
        }
        if (string.IsNullOrEmpty(name))
        {
            Json(response, 400, new { error = new { code = 400, message = "upload without an object name" } });
            return;
        }
        var session2 = Guid.NewGuid().ToString("N");
        _uploads[session2] = new UploadSession(bucket, name, new MemoryStream());
        response.StatusCode = 200;
        response.AddHeader("Location", $"{Host}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={session2}");
    }

    /// <summary>The request body, inflated when the client gzipped it (the Google client does by default).</summary>
    private static Stream Body(HttpListenerRequest request) =>
        string.Equals(request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase)
            ? new System.IO.Compression.GZipStream(request.InputStream, System.IO.Compression.CompressionMode.Decompress)
            : request.InputStream;

    private sealed record UploadSession(string Bucket, string Name, MemoryStream Data);

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
