using System.Net;
using System.Text;
using System.Text.Json;

namespace Histoscale.Storage.Tests.Support;

/// <summary>
/// The real DICOMweb server of the DICOMweb tests: Debian's Orthanc with its DICOMweb plugin, started on loopback by
/// <c>.ci/orthanc.sh</c> (from <c>.ci/run</c>), which writes HISTOSCALE_TEST_ORTHANC to <c>.ci/orthanc.env</c>.
/// </summary>
public static class Orthanc
{
    public const string Variable = "HISTOSCALE_TEST_ORTHANC";

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The Orthanc base URL (http://127.0.0.1:PORT), from the variable or .ci/orthanc.env; null when not started.</summary>
    public static string? Url { get; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s.TrimEnd('/') : FromEnvFile();

    public static string SkipReason => $"DICOMweb server tests skipped: {Variable} is not set and .ci/orthanc.env is absent (bash .ci/orthanc.sh start runs Debian's orthanc + orthanc-dicomweb on loopback; .ci/run does)";

    /// <summary>Skips unless the server answers.</summary>
    public static void Require()
    {
        Skip.If(Url is null, SkipReason);
        try
        {
            using var response = s_http.GetAsync(Url + "/system").GetAwaiter().GetResult();
            Skip.IfNot(response.IsSuccessStatusCode, $"DICOMweb server tests skipped: Orthanc at {Url} answered {(int)response.StatusCode}");
        }
        catch (HttpRequestException ex)
        {
            Skip.If(true, $"DICOMweb server tests skipped: Orthanc at {Url} is not reachable ({ex.Message})");
        }
    }

    /// <summary>Uploads every Part 10 file of <paramref name="folder"/> (REST POST /instances); returns the DICOMweb URL of their one series.</summary>
    public static string Upload(string folder)
    {
        string? series = null;
        foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            using var content = new ByteArrayContent(File.ReadAllBytes(file));
            content.Headers.ContentType = new("application/dicom");
            using var response = s_http.PostAsync(Url + "/instances", content).GetAwaiter().GetResult();
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            Assert.True(response.IsSuccessStatusCode, $"Orthanc refused {file}: {(int)response.StatusCode} {body}");
            var parentSeries = JsonDocument.Parse(body).RootElement.GetProperty("ParentSeries").GetString()!;
            var info = JsonDocument.Parse(s_http.GetStringAsync($"{Url}/series/{parentSeries}").GetAwaiter().GetResult()).RootElement;
            var study = JsonDocument.Parse(s_http.GetStringAsync($"{Url}/studies/{info.GetProperty("ParentStudy").GetString()}").GetAwaiter().GetResult()).RootElement;
            var url = $"{Url}/dicom-web/studies/{study.GetProperty("MainDicomTags").GetProperty("StudyInstanceUID").GetString()}/series/{info.GetProperty("MainDicomTags").GetProperty("SeriesInstanceUID").GetString()}";
            Assert.True(series is null || series == url, $"{folder} holds more than one series ({series}, {url})");
            series = url;
        }
        return series ?? throw new InvalidOperationException($"{folder} holds no files");
    }

    /// <summary>
    /// Gives every UID our test writer made (root 1.2.826.0.1.3680043.10.) another root of the same length, so each
    /// test's series is its own on the shared server; the files stay valid (same lengths, same layout).
    /// </summary>
    public static void Reroot(string folder, int root)
    {
        var from = Encoding.ASCII.GetBytes("1.2.826.0.1.3680043.10.");
        var to = Encoding.ASCII.GetBytes($"1.2.826.0.1.3680043.{root:00}.");
        Assert.Equal(from.Length, to.Length);
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var bytes = File.ReadAllBytes(file);
            for (var i = bytes.AsSpan().IndexOf(from); i >= 0;)
            {
                to.CopyTo(bytes, i);
                var next = bytes.AsSpan(i + to.Length).IndexOf(from);
                i = next < 0 ? -1 : i + to.Length + next;
            }
            File.WriteAllBytes(file, bytes);
        }
    }

    private static string? FromEnvFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, ".ci", "orthanc.env");
            if (File.Exists(file))
            {
                return File.ReadAllLines(file)
                    .Where(l => l.StartsWith(Variable + "=", StringComparison.Ordinal))
                    .Select(l => l[(Variable.Length + 1)..].Trim().Trim('\'', '"').TrimEnd('/'))
                    .FirstOrDefault();
            }
        }
        return null;
    }
}

/// <summary>
/// A loopback HTTP proxy in front of Orthanc for what Orthanc cannot be told to do: require a bearer token (401
/// without it), answer frame requests 404, cut multipart frame answers short, or refuse frame lists as some
/// servers do (Orthanc accepts them). Counts frame requests and the frames they ask for.
/// </summary>
public sealed class DicomWebProxy : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly HttpClient _upstream = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly string _target;
    private readonly Task _loop;
    private int _frameRequests;
    private int _multiFrameRequests;
    private int _framesRequested;
    private int _framesRequestedAgain;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _framesSeen = new(StringComparer.Ordinal);
    private int _maxFramesInOneRequest;

    public DicomWebProxy(string target)
    {
        _target = target.TrimEnd('/');
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20000, 60000);
            var prefix = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(prefix);
            try
            {
                _listener.Start();
                Url = prefix.TrimEnd('/');
                break;
            }
            catch (HttpListenerException) when (attempt < 20)
            {
            }
        }
        _loop = Task.Run(Loop);
    }

    public string Url { get; }

    /// <summary>When set, requests without <c>Authorization: Bearer {token}</c> get 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Frame requests answer 404.</summary>
    public bool FramesNotFound { get; set; }

    /// <summary>Frame answers lose their last bytes (the close delimiter and some of the last frame).</summary>
    public bool TruncateFrames { get; set; }

    /// <summary>
    /// When set, a request for several frames is refused as servers without multi-frame support do: with this HTTP
    /// status (400, 406, 501), or, when 200, with a multipart answer holding only the first frame.
    /// </summary>
    public int? RefuseFrameLists { get; set; }

    /// <summary>Frames asked for, summed over frame requests.</summary>
    public int FramesRequested => Volatile.Read(ref _framesRequested);

    /// <summary>Frames asked for that an earlier request had asked for already.</summary>
    public int FramesRequestedAgain => Volatile.Read(ref _framesRequestedAgain);

    /// <summary>The most frames one request asked for.</summary>
    public int MaxFramesInOneRequest => Volatile.Read(ref _maxFramesInOneRequest);

    /// <summary>Authorization headers seen.</summary>
    public List<string> Authorizations { get; } = [];

    public int FrameRequests => Volatile.Read(ref _frameRequests);

    /// <summary>Frame requests that asked for more than one frame.</summary>
    public int MultiFrameRequests => Volatile.Read(ref _multiFrameRequests);

    /// <summary>The same URL through this proxy.</summary>
    public string Through(string orthancUrl) => Url + orthancUrl[_target.Length..];

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _upstream.Dispose();
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
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

    private async Task Serve(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var path = context.Request.RawUrl ?? "/";
            var auth = context.Request.Headers["Authorization"];
            lock (Authorizations)
            {
                Authorizations.Add(auth ?? "");
            }
            var isFrames = path.Contains("/frames/", StringComparison.Ordinal);
            var frameList = isFrames ? path[(path.LastIndexOf('/') + 1)..].Split(',') : [];
            if (isFrames)
            {
                Interlocked.Increment(ref _frameRequests);
                Interlocked.Add(ref _framesRequested, frameList.Length);
                var instance = path[..(path.LastIndexOf('/') + 1)];
                foreach (var frame in frameList)
                {
                    if (!_framesSeen.TryAdd(instance + frame, true))
                    {
                        Interlocked.Increment(ref _framesRequestedAgain);
                    }
                }
                for (var max = Volatile.Read(ref _maxFramesInOneRequest); frameList.Length > max && Interlocked.CompareExchange(ref _maxFramesInOneRequest, frameList.Length, max) != max; max = Volatile.Read(ref _maxFramesInOneRequest))
                {
                }
                if (frameList.Length > 1)
                {
                    Interlocked.Increment(ref _multiFrameRequests);
                }
            }
            if (RequiredToken is { } token && auth != $"Bearer {token}")
            {
                response.StatusCode = 401;
                return;
            }
            if (isFrames && FramesNotFound)
            {
                response.StatusCode = 404;
                return;
            }
            if (isFrames && frameList.Length > 1 && RefuseFrameLists is { } refusal and not 200)
            {
                response.StatusCode = refusal;
                return;
            }
            if (isFrames && frameList.Length > 1 && RefuseFrameLists is 200)
            {
                path = path[..(path.LastIndexOf('/') + 1)] + frameList[0]; // answers the first frame only
            }
            using var request = new HttpRequestMessage(HttpMethod.Get, _target + path);
            if (context.Request.Headers["Accept"] is { } accept)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }
            using var upstream = await _upstream.SendAsync(request);
            var body = await upstream.Content.ReadAsByteArrayAsync();
            if (isFrames && TruncateFrames && body.Length > 100)
            {
                body = body[..(body.Length - 100)];
            }
            response.StatusCode = (int)upstream.StatusCode;
            if (upstream.Content.Headers.ContentType is { } type)
            {
                response.ContentType = type.ToString();
            }
            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or HttpRequestException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }
}
