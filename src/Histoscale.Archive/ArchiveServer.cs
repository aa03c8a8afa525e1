using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Histoscale.Archive;

/// <summary>
/// The archive on its own HTTP port (ASP.NET Core, Kestrel): for hosts that serve no models, and for tests.
/// Hosts that already run a web application map <see cref="SlideArchive.MapEndpoints"/> into it instead.
/// </summary>
public sealed class ArchiveServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ArchiveServer(WebApplication app, SlideArchive archive, int port)
    {
        _app = app;
        Archive = archive;
        Port = port;
    }

    /// <summary>The archive being served.</summary>
    public SlideArchive Archive { get; }

    /// <summary>The bound port (the real one when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>Opens the archive (<see cref="SlideArchive.OpenAsync"/>) and starts listening on <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="options">What to serve.</param>
    /// <param name="host">Address to bind: an IP address, or "0.0.0.0" for every interface.</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<ArchiveServer> StartAsync(ArchiveOptions options, string host, int port, CancellationToken cancellationToken = default)
    {
        if (!IPAddress.TryParse(host, out var address))
        {
            throw new ArgumentException($"host '{host}' is not an IP address", nameof(host));
        }
        var archive = await SlideArchive.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Listen(address, port);
            });
            builder.Services.AddRouting();
            var app = builder.Build();
            archive.MapEndpoints(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port).First();
            return new ArchiveServer(app, archive, bound);
        }
        catch
        {
            await archive.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops accepting connections and lets in-flight requests finish (until <paramref name="cancellationToken"/>).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Stops and releases the server and the archive.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        await Archive.DisposeAsync().ConfigureAwait(false);
    }
}
