using System.Net.Http.Headers;

namespace Histoscale.Archive.Tests.Support;

/// <summary>An archive server on a free loopback port, with an HTTP client per token.</summary>
public sealed class ArchiveHost : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token-7f3a";

    private ArchiveHost(ArchiveServer server, ArchiveOptions options)
    {
        Server = server;
        Options = options;
        BaseAddress = new Uri($"http://127.0.0.1:{server.Port}");
    }

    public ArchiveServer Server { get; }

    public ArchiveOptions Options { get; }

    public Uri BaseAddress { get; }

    public static async Task<ArchiveHost> StartAsync(ArchiveData data, string database, bool anonymousRead = false, long maxAnnotationBytes = 1 << 20, string? models = null)
    {
        var options = new ArchiveOptions
        {
            Collections = data.Collections,
            ResultsDirectory = data.Results,
            Database = database,
            AdminToken = AdminToken,
            AnonymousRead = anonymousRead,
            MaxAnnotationBytes = maxAnnotationBytes,
            TileCacheBytes = 8 << 20,
            MaxRegionEdge = 1024,
            ModelRepository = models,
            Jobs = models is null ? null : TestModels.Jobs(),
        };
        return new ArchiveHost(await ArchiveServer.StartAsync(options, "127.0.0.1", 0), options);
    }

    public HttpClient Client(string? token = AdminToken)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
