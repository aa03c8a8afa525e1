using Histoscale.Inference.OnnxRuntime;
using System.Net;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve;
using Histoscale.Server.Kserve.Grpc;
using Histoscale.Server.Kserve.Http;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Metrics;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server;

/// <summary>
/// A Triton-compatible inference server: KServe v2 REST (with Triton's extensions) on the HTTP port, Triton's gRPC
/// service on the gRPC port, Prometheus metrics on the metrics port, all over one <see cref="ModelRegistry"/>.
/// Models load before the ports open, so a client never meets a half-started server. <see cref="StopAsync"/> is
/// graceful: readiness drops, the listeners stop accepting, in-flight requests finish, then the models drain.
/// Triton's safety defaults apply: model control NONE (no load/unload from clients), optional header-restricted
/// API groups per transport, and a size limit on gRPC messages as on REST bodies.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions[] _listeners;
    private readonly CancellationTokenSource _stopPolling = new();
    private Task _poller = Task.CompletedTask;
    private int _stopped;

    private InferenceServer(WebApplication app, ModelRegistry models, ServerState state, ListenOptions[] listeners)
    {
        _app = app;
        Models = models;
        State = state;
        _listeners = listeners;
    }

    internal ModelRegistry Models { get; }

    /// <summary>Idle request buffers the server keeps at most (256 MiB, or a quarter of the memory budget when smaller).</summary>
    private const long DefaultRetainedRequestBytes = 256L << 20;

    /// <summary>
    /// One line for every loaded CPU model left at Triton's default layout (no instance_group: one instance using
    /// every core), which serves less than one single-threaded instance per core (docs/serving.md).
    /// </summary>
    /// <param name="device">The device the models run on (<see cref="InferenceServerOptions.Runtime"/>): no hints but for the CPU.</param>
    public IReadOnlyList<string> CpuLayoutHints(InferenceDevice device) => device != InferenceDevice.Cpu ? [] :
        [.. Models.LoadedVersions
            .Where(h => h.Description.Config.InstanceGroups.Count == 0)
            .Select(h => h.Backend is OnnxRuntimeBackend { InstanceCount: 1, IntraOpThreads: > 1 } ort
                ? $"model '{h.Name}' has no instance_group, so it runs one instance with {ort.IntraOpThreads} threads (Triton's default). " +
                  $"On CPU one single-threaded instance per core serves more: add instance_group [ {{ count: {ort.IntraOpThreads}, kind: KIND_CPU }} ] " +
                  "to its config.pbtxt (measurements: docs/serving.md)"
                : null)
            .OfType<string>()];

    /// <summary>The repository's models and versions with their state (Triton's repository index).</summary>
    public IReadOnlyList<ModelIndexEntry> ModelIndex(bool readyOnly = false) => Models.Index(readyOnly);

    internal ServerState State { get; }

    /// <summary>The bound ports (the real ones when 0 was asked for).</summary>
    public int HttpPort => _listeners[0].IPEndPoint!.Port;

    /// <summary>Bound port of the KServe v2 gRPC endpoint.</summary>
    public int GrpcPort => _listeners[1].IPEndPoint!.Port;

    /// <summary>Bound port of the Prometheus metrics endpoint.</summary>
    public int MetricsPort => _listeners[2].IPEndPoint!.Port;

    /// <summary>Loads the repository's models, opens the three listeners and returns once they accept connections.</summary>
    public static async Task<InferenceServer> StartAsync(InferenceServerOptions options, CancellationToken cancellationToken = default)
    {
        Validate(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        // The caller (CLI or test) owns process signals and calls StopAsync.
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);

        var address = ResolveHost(options.Host);
        var listeners = new ListenOptions[3];
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            // Tile batches are megabytes: large HTTP/2 windows keep a stream from stalling on flow control.
            k.Limits.Http2.InitialConnectionWindowSize = 32 * 1024 * 1024;
            k.Limits.Http2.InitialStreamWindowSize = 16 * 1024 * 1024;
            k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
            k.Listen(address, options.HttpPort, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                l.Use(ListenerRoles.Tag(ListenerRole.Http));
                listeners[0] = l;
            });
            k.Listen(address, options.GrpcPort, l =>
            {
                l.Protocols = HttpProtocols.Http2; // plaintext HTTP/2 with prior knowledge, as gRPC clients speak it
                l.Use(ListenerRoles.Tag(ListenerRole.Grpc));
                listeners[1] = l;
            });
            k.Listen(address, options.MetricsPort, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                l.Use(ListenerRoles.Tag(ListenerRole.Metrics));
                listeners[2] = l;
            });
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxGrpcMessageBytes;
            o.MaxSendMessageSize = null; // responses are the server's own outputs
        });
        // Request tensor bytes land in pooled buffers (bounded: what stays idle is at most a quarter of the budget).
        var budget = new MemoryBudget(options.MemoryBudgetBytes);
        var retained = options.MemoryBudgetBytes > 0 ? Math.Min(DefaultRetainedRequestBytes, options.MemoryBudgetBytes / 4) : DefaultRetainedRequestBytes;
        builder.Services.AddSingleton(new RequestBufferPool(new BoundedBufferPool(retained)));
        builder.Services.AddSingleton(budget);
        builder.Services.AddPooledInferRequests();
        // Registered shared-memory regions; the host unmaps what is left when it is disposed.
        builder.Services.AddSingleton(_ => new SystemSharedMemory());

        var state = new ServerState();
        var repository = new ModelRepository(options.ModelRepository);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(sp => new ModelRegistry(repository, options.Runtime, sp.GetRequiredService<ILoggerFactory>().CreateLogger<ModelRegistry>(), options.ModelControl));

        var app = builder.Build();
        app.UseRouting();
        app.Use(ListenerRoles.FilterAsync);
        app.Use(new RequestGates(options.HttpRestrictedApis, options.GrpcRestrictedProtocols, options.MaxGrpcMessageBytes, budget).InvokeAsync);
        app.MapKServeHttp().WithMetadata(new ListenerRoleMetadata(ListenerRole.Http));
        options.MapHttpEndpoints?.Invoke(app.MapGroup("").WithMetadata(new ListenerRoleMetadata(ListenerRole.Http)));
        app.MapGrpcService<GrpcInferenceService>().WithMetadata(new ListenerRoleMetadata(ListenerRole.Grpc));
        var models = app.Services.GetRequiredService<ModelRegistry>();
        app.MapGet("/metrics", context =>
        {
            context.Response.ContentType = TritonMetrics.ContentType;
            return context.Response.WriteAsync(TritonMetrics.Render(models, budget), context.RequestAborted);
        }).WithMetadata(new ListenerRoleMetadata(ListenerRole.Metrics));

        var server = new InferenceServer(app, models, state, listeners);
        try
        {
            switch (options.ModelControl)
            {
                case ModelControlMode.Poll:
                    await models.SyncWithRepositoryAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case ModelControlMode.Explicit when options.StartupModels is not ["*"]:
                    foreach (var name in options.StartupModels)
                    {
                        await models.LoadAsync(name, cancellationToken).ConfigureAwait(false);
                    }
                    break;
                default:
                    await models.LoadAllAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await models.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        state.Ready = true;
        if (options.ModelControl == ModelControlMode.Poll)
        {
            server._poller = models.PollAsync(options.RepositoryPollInterval, server._stopPolling.Token);
        }
        return server;
    }

    /// <summary>Option combinations Triton refuses too; the CLI reports them per flag before getting here.</summary>
    private static void Validate(InferenceServerOptions options)
    {
        if (options.StartupModels.Count > 0 && options.ModelControl != ModelControlMode.Explicit)
        {
            throw new ArgumentException("startup models (--load-model) need explicit model control", nameof(options));
        }
        if (options.StartupModels.Contains("*") && options.StartupModels.Count > 1)
        {
            throw new ArgumentException("startup model '*' (all) cannot be combined with model names", nameof(options));
        }
        if (options.ModelControl == ModelControlMode.Poll && options.RepositoryPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("the repository poll interval must be positive", nameof(options));
        }
        if (options.MaxGrpcMessageBytes < 1)
        {
            throw new ArgumentException("the gRPC message limit must be positive", nameof(options));
        }
    }

    /// <summary>
    /// Graceful stop: not ready any more, no new connections, in-flight requests finish (up to the shutdown
    /// timeout, or until <paramref name="cancellationToken"/>), then every model drains and is freed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        State.Ready = false;
        try
        {
            // No repository changes while shutting down; a load in progress finishes first.
            await _stopPolling.CancelAsync().ConfigureAwait(false);
            await _poller.ConfigureAwait(false);
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Models.DisposeAsync().ConfigureAwait(false);
            // Regions are unregistered on shutdown (unmapped once the last request using one has finished).
            _app.Services.GetRequiredService<SystemSharedMemory>().UnregisterAll();
            _stopPolling.Dispose();
        }
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>) and releases the host.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The address <see cref="InferenceServerOptions.Host"/> names; <see cref="ArgumentException"/> when it names none.</summary>
    public static IPAddress ResolveHost(string host)
    {
        switch (host)
        {
            case "0.0.0.0" or "*" or "":
                return IPAddress.Any;
            case "::" or "[::]":
                return IPAddress.IPv6Any;
            case "localhost":
                return IPAddress.Loopback;
        }
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            return ip;
        }
        try
        {
            return Dns.GetHostAddresses(host).FirstOrDefault() ?? throw new ArgumentException($"cannot resolve host '{host}'", nameof(host));
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new ArgumentException($"cannot resolve host '{host}': {ex.Message}", nameof(host), ex);
        }
    }

    /// <summary>A host lifetime that ignores console signals: the embedding CLI or test decides when to stop.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
