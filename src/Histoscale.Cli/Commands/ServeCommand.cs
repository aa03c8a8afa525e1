using System.CommandLine;
using System.Globalization;
using Histoscale.Archive;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Server;
using Histoscale.Server.Kserve;
using Histoscale.Server.Models;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale serve</c>: a Triton-compatible inference server over a model repository.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var repository = new Option<string?>("--model-repository") { Description = "Triton-layout model repository (REPO/NAME/config.pbtxt, REPO/NAME/1/model.onnx): serves the Triton API" };
        var slides = new Option<string[]>("--slides") { Description = "Slide collection served by the slide archive and web viewer: a folder (its slide files and DICOM series, subfolders included) or an s3://BUCKET/PREFIX, az://CONTAINER/PREFIX or gs://BUCKET/PREFIX prefix; DIR, URL, NAME=DIR or NAME=URL (repeatable; the name defaults to the folder's or the prefix's last segment)", AllowMultipleArgumentsPerToken = false };
        var results = new Option<string?>("--results") { Description = "Folder of infer outputs: NAME.heatmap.tif becomes an overlay of slide NAME, matched on collection and relative path (RESULTS/COLLECTION/FOLDER/, or infer's records beside it)" };
        var db = new Option<string>("--db") { Description = "Archive database: a SQLite file (created on first start) or postgres://user:pass@host:port/db", DefaultValueFactory = _ => "histoscale.sqlite" };
        var jobs = new Option<int>("--jobs") { Description = "Model jobs (POST /api/v1/jobs, the viewer's Run model) run at once in this process, on --model-repository's models, results under --results; 0 = no jobs", DefaultValueFactory = _ => 1 };
        var jobsQueueLimit = new Option<int>("--jobs-queue-limit") { Description = "Most model jobs queued or running at once; POST /api/v1/jobs beyond it answers 429", DefaultValueFactory = _ => 100 };
        var corsOrigin = new Option<string[]>("--cors-origin") { Description = "Let browser pages from this origin (https://host[:port]) call the archive's REST API (repeatable; default: CORS off)", AllowMultipleArgumentsPerToken = false };
        var anonymous = new Option<string?>("--anonymous") { Description = "'read': requests without a token may read every collection (default: a token is required)" };
        var host = new Option<string>("--host") { Description = "Address the HTTP, gRPC and metrics ports bind: 0.0.0.0 = every interface (Triton's default), 127.0.0.1 = this machine only", DefaultValueFactory = _ => "0.0.0.0" };
        var httpPort = new Option<int>("--http-port") { Description = "KServe v2 REST port", DefaultValueFactory = _ => 8000 };
        var grpcPort = new Option<int>("--grpc-port") { Description = "KServe v2 gRPC port", DefaultValueFactory = _ => 8001 };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Prometheus metrics port (/metrics)", DefaultValueFactory = _ => 8002 };
        var device = new DeviceFlags();
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads per model instance (default: cores / instances)" };
        var exitTimeout = new Option<int>("--exit-timeout-secs") { Description = "How long shutdown waits for in-flight requests", DefaultValueFactory = _ => 30 };
        var spin = new Option<bool>("--allow-spinning") { Description = "Let idle ONNX Runtime threads spin (lower latency, but takes CPU from request handling)" };
        var controlMode = new Option<string>("--model-control-mode")
        {
            Description = "none: load every model at start, refuse load/unload requests (default); explicit: load --load-model models, clients load/unload; poll: follow the repository",
            DefaultValueFactory = _ => "none",
        };
        var loadModel = new Option<string[]>("--load-model") { Description = "Explicit mode: load this model at start (repeatable; '*' alone loads all)", AllowMultipleArgumentsPerToken = false };
        var pollSecs = new Option<int>("--repository-poll-secs") { Description = "Poll mode: seconds between repository scans", DefaultValueFactory = _ => 15 };
        var httpRestricted = new Option<string[]>("--http-restricted-api")
        {
            Description = $"API_1,API_2,...:HEADER=VALUE: these REST API groups answer 403 without the header (repeatable; groups: {string.Join(", ", RestrictedApis.CategoryNames)})",
            AllowMultipleArgumentsPerToken = false,
        };
        var grpcRestricted = new Option<string[]>("--grpc-restricted-protocol")
        {
            Description = $"PROTOCOL_1,...:KEY=VALUE: these gRPC groups answer UNAVAILABLE without metadata {RestrictedApis.GrpcHeaderPrefix}KEY=VALUE (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var grpcMaxMessage = new Option<long>("--grpc-max-message-size")
        {
            Description = "Largest gRPC request message in bytes; larger ones get RESOURCE_EXHAUSTED",
            DefaultValueFactory = _ => InferenceServerOptions.DefaultMaxGrpcMessageBytes,
        };

        var memoryBudget = new Option<string?>("--memory-budget")
        {
            Description = "Bytes of inference requests held at once (queued + running), e.g. 2G; beyond it requests get 503 / UNAVAILABLE. Default: half the container's memory limit (cgroup), none without one; 0 or none = no limit",
        };
        var noArena = new Option<bool>("--no-cpu-arena") { Description = "ONNX Runtime: allocate activations without the CPU arena (lower idle RSS, more allocator work per batch)" };
        var noPattern = new Option<bool>("--no-memory-pattern") { Description = "ONNX Runtime: no per-shape memory pattern (each batch size of dynamic batching otherwise gets its own plan)" };
        var shrink = new Option<bool>("--arena-shrinkage") { Description = "ONNX Runtime: the CPU arena frees unused chunks after every batch" };

        var command = new Command("serve", "Serve a model repository over KServe v2 / Triton's HTTP and gRPC protocols, with Prometheus metrics; with --slides, the slide archive, its REST API and the web viewer")
        {
            repository, host, httpPort, grpcPort, metricsPort, device.Device, device.TrtFp16, device.TrtEngineCache, device.CudaArena, device.CudnnConvSearch, device.IoBinding, threads, spin, exitTimeout,
            controlMode, loadModel, pollSecs, httpRestricted, grpcRestricted, grpcMaxMessage, slides, results, db, anonymous, jobs, jobsQueueLimit, corsOrigin,
            memoryBudget, noArena, noPattern, shrink,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var deviceSettings = device.Read(r);
            var ports = new[] { r.GetValue(httpPort), r.GetValue(grpcPort), r.GetValue(metricsPort) };
            if (ports.Any(p => p is < 0 or > 65535) || ports.Where(p => p != 0).Distinct().Count() != ports.Count(p => p != 0))
            {
                throw new InputException("--http-port, --grpc-port and --metrics-port must be distinct ports in 0..65535");
            }
            if (r.GetValue(threads) is < 1)
            {
                throw new InputException("--threads must be at least 1");
            }
            var mode = ParseControlMode(r.GetValue(controlMode)!);
            var startup = r.GetValue(loadModel) ?? [];
            if (startup.Length > 0 && mode != ModelControlMode.Explicit)
            {
                throw new InputException("--load-model needs --model-control-mode explicit (as in Triton)");
            }
            if (startup.Contains("*") && startup.Length > 1)
            {
                throw new InputException("--load-model '*' loads every model and cannot be combined with model names");
            }
            // Outside poll mode Triton ignores --repository-poll-secs, so Triton command lines that pass 0 still work.
            if (mode == ModelControlMode.Poll && r.GetValue(pollSecs) < 1)
            {
                throw new InputException($"--repository-poll-secs must be at least 1 in poll mode (got {r.GetValue(pollSecs)})");
            }
            var maxMessage = r.GetValue(grpcMaxMessage);
            if (maxMessage is < 1 or > int.MaxValue)
            {
                throw new InputException($"--grpc-max-message-size must be 1..{int.MaxValue} bytes (got {maxMessage})");
            }
            long budget;
            if (r.GetValue(memoryBudget) is { } budgetText)
            {
                budget = ContainerMemory.ParseSize(budgetText) ?? throw new InputException($"--memory-budget: '{budgetText}' is not a size (bytes, or with K, M, G, T: e.g. 2G; 0 or none for no limit)");
            }
            else
            {
                budget = ContainerMemory.LimitBytes() is { } containerLimit ? containerLimit / 2 : 0;
            }
            var httpRestrictions = ParseRestrictions(r.GetValue(httpRestricted), "", "--http-restricted-api");
            var grpcRestrictions = ParseRestrictions(r.GetValue(grpcRestricted), RestrictedApis.GrpcHeaderPrefix, "--grpc-restricted-protocol");
            try
            {
                InferenceServer.ResolveHost(r.GetValue(host)!);
            }
            catch (ArgumentException ex)
            {
                throw new InputException($"--host: {ex.Message}");
            }
            var archiveOptions = ArchiveOptionsFrom(r.GetValue(slides) ?? [], r.GetValue(results), r.GetValue(db)!, r.GetValue(anonymous), r.GetValue(repository));
            if (r.GetValue(corsOrigin) is { Length: > 0 } origins)
            {
                archiveOptions = archiveOptions is null
                    ? throw new InputException("--cors-origin needs --slides (it configures the slide archive's REST API)")
                    : archiveOptions with { CorsOrigins = origins };
            }
            if (r.GetValue(jobs) < 0)
            {
                throw new InputException($"--jobs must be 0 or more (got {r.GetValue(jobs)})");
            }
            if (r.GetValue(jobsQueueLimit) < 1)
            {
                throw new InputException($"--jobs-queue-limit must be 1 or more (got {r.GetValue(jobsQueueLimit)})");
            }
            if (archiveOptions is { ModelRepository: not null, ResultsDirectory: not null } && r.GetValue(jobs) > 0)
            {
                var jobDevice = deviceSettings.Device;
                archiveOptions = archiveOptions with
                {
                    Jobs = new ArchiveJobOptions
                    {
                        // The same in-process backend as infer, on the serve's device.
                        Backends = (model, batch) => OnnxRuntimeBackend.Create(model, InferCommand.LocalOptions(model, jobDevice, batch, null, null, spinning: false) with
                        {
                            Gpu = deviceSettings.Gpu,
                            IoBinding = deviceSettings.IoBinding,
                        }),
                        Concurrency = r.GetValue(jobs),
                        QueueLimit = r.GetValue(jobsQueueLimit),
                        Environment = new Dictionary<string, object?>
                        {
                            ["device"] = jobDevice,
                            ["backend"] = "onnxruntime",
                            ["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(),
                            ["cores"] = Environment.ProcessorCount,
                        },
                    },
                };
            }
            if (r.GetValue(repository) is null)
            {
                if (archiveOptions is null)
                {
                    throw new InputException("give --model-repository (the Triton API), --slides (the slide archive), or both");
                }
                return await ServeArchiveOnlyAsync(archiveOptions, r.GetValue(host)!, ports[0], TimeSpan.FromSeconds(Math.Max(0, r.GetValue(exitTimeout))), r.InvocationConfiguration.Output, ct);
            }
            if (!Directory.Exists(r.GetValue(repository)))
            {
                throw new InputException($"model repository '{r.GetValue(repository)}' does not exist");
            }
            await using var archive = archiveOptions is null ? null : await OpenArchiveAsync(archiveOptions, ct);
            var options = new InferenceServerOptions
            {
                MapHttpEndpoints = archive is null ? null : archive.MapEndpoints,
                ModelRepository = r.GetValue(repository)!,
                Host = r.GetValue(host)!,
                HttpPort = ports[0],
                GrpcPort = ports[1],
                MetricsPort = ports[2],
                ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, r.GetValue(exitTimeout))),
                ModelControl = mode,
                StartupModels = startup,
                RepositoryPollInterval = TimeSpan.FromSeconds(Math.Max(1, r.GetValue(pollSecs))),
                HttpRestrictedApis = httpRestrictions,
                GrpcRestrictedProtocols = grpcRestrictions,
                MaxGrpcMessageBytes = (int)maxMessage,
                MemoryBudgetBytes = budget,
                Runtime = new OnnxRuntimeOptions
                {
                    IntraOpThreads = r.GetValue(threads),
                    AllowSpinning = r.GetValue(spin),
                    EnableCpuMemArena = !r.GetValue(noArena),
                    EnableMemoryPattern = !r.GetValue(noPattern),
                    ArenaShrinkage = r.GetValue(shrink),
                    Gpu = deviceSettings.Gpu,
                    IoBinding = deviceSettings.IoBinding,
                }.WithDevice(deviceSettings.Device),
            };
            var output = r.InvocationConfiguration.Output;
            await using var server = await InferenceServer.StartAsync(options, ct);
            foreach (var line in StartupLines(server, options))
            {
                output.WriteLine(line);
            }
            if (archive is not null)
            {
                foreach (var line in ArchiveLines(archive, archiveOptions!, $"{options.Host}:{server.HttpPort}"))
                {
                    output.WriteLine(line);
                }
            }
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C / SIGTERM: stop gracefully below.
            }
            output.WriteLine("histoscale serve: shutting down, letting in-flight requests finish");
            using var limit = new CancellationTokenSource(options.ShutdownTimeout);
            await server.StopAsync(limit.Token);
            return CliRunner.Ok;
        });
        return command;
    }

    /// <summary>The archive's options from the flags and the environment; null without --slides.</summary>
    internal static ArchiveOptions? ArchiveOptionsFrom(string[] slides, string? results, string db, string? anonymous, string? modelRepository)
    {
        if (anonymous is not null && anonymous != "read")
        {
            throw new InputException($"--anonymous: '{anonymous}' is not 'read' (the only access anonymous requests can be given)");
        }
        if (slides.Length == 0)
        {
            if (results is not null || anonymous is not null)
            {
                throw new InputException("--results and --anonymous need --slides (they configure the slide archive)");
            }
            return null;
        }
        var collections = new List<ArchiveCollection>();
        foreach (var spec in slides)
        {
            // A remote prefix (s3://, az://, gs://) or NAME=prefix: listed through the host's object stores.
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var scheme = spec.IndexOf("://", StringComparison.Ordinal);
            var named = eq > 0 && (scheme < 0 || eq < scheme);
            var (name, dir) = named ? (spec[..eq], spec[(eq + 1)..]) : (RemoteSlideStore.DefaultName(spec) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(spec))), spec);
            if (dir.Contains("://", StringComparison.Ordinal))
            {
                if (RemoteSlideStore.DefaultName(dir) is null)
                {
                    throw new InputException($"--slides: '{dir}' is not a folder or an s3://, az:// or gs:// prefix");
                }
            }
            else if (!Directory.Exists(dir))
            {
                throw new InputException($"--slides: folder '{dir}' does not exist");
            }
            collections.Add(new ArchiveCollection(name, dir));
        }
        if (results is not null && !Directory.Exists(results))
        {
            throw new InputException($"--results: folder '{results}' does not exist");
        }
        var host = HostContext.FromEnvironment();
        return new ArchiveOptions
        {
            Collections = collections,
            ResultsDirectory = results,
            Database = db,
            AdminToken = host.AdminToken,
            AnonymousRead = anonymous == "read",
            ModelRepository = modelRepository,
            SlideOptions = host.Slides,
            RemoteSlides = new RemoteSlideStore(host.ObjectStores),
        };
    }

    private static async Task<SlideArchive> OpenArchiveAsync(ArchiveOptions options, CancellationToken ct)
    {
        try
        {
            return await SlideArchive.OpenAsync(options, ct);
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"--slides/--db/--cors-origin: {ex.Message}");
        }
    }

    private static async Task<int> ServeArchiveOnlyAsync(ArchiveOptions options, string host, int port, TimeSpan exitTimeout, TextWriter output, CancellationToken ct)
    {
        ArchiveServer server;
        try
        {
            server = await ArchiveServer.StartAsync(options, InferenceServer.ResolveHost(host).ToString(), port, ct);
        }
        catch (ArgumentException ex)
        {
            throw new InputException($"--slides/--db/--host/--cors-origin: {ex.Message}");
        }
        await using (server)
        {
            foreach (var line in ArchiveLines(server.Archive, options, $"{host}:{server.Port}"))
            {
                output.WriteLine(line);
            }
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C / SIGTERM: stop gracefully below.
            }
            output.WriteLine("histoscale serve: shutting down, letting in-flight requests finish");
            using var limit = new CancellationTokenSource(exitTimeout);
            await server.StopAsync(limit.Token);
        }
        return CliRunner.Ok;
    }

    /// <summary>What <c>serve</c> prints about the archive once it accepts connections.</summary>
    internal static IReadOnlyList<string> ArchiveLines(SlideArchive archive, ArchiveOptions options, string where)
    {
        var lines = new List<string>
        {
            $"histoscale serve: slide archive with {archive.SlideCount} slide(s) in {options.Collections.Count} collection(s) ({string.Join(", ", options.Collections.Select(c => c.Name))})",
            $"  viewer  http://{where}/  (REST: /api/v1, OpenAPI: /api/v1/openapi.json)",
            $"  database {archive.Database}" + (archive.MigrationsApplied.Count > 0 ? $" (schema migrated: {string.Join(", ", archive.MigrationsApplied.Select(v => "v" + v))})" : ""),
            "  jobs    " + (options.Jobs is { } j
                ? $"{j.Concurrency} at once, models from {options.ModelRepository}, results under {options.ResultsDirectory}" + (archive.JobsResumed > 0 ? $" ({archive.JobsResumed} unfinished job(s) resumed)" : "")
                : "off (POST /api/v1/jobs needs --model-repository, --results and --jobs N > 0)"),
            "  access  " + (options.AnonymousRead ? "anonymous read; " : "") + (options.AdminToken is null ? "tokens from 'histoscale token create'" : "HISTOSCALE_ADMIN_TOKEN is an admin token; and tokens from 'histoscale token create'"),
        };
        lines.AddRange(archive.ScanProblems.Select(p => "  skipped " + p));
        return lines;
    }

    /// <summary>
    /// What <c>serve</c> prints once it accepts connections: the ready models, where each port listens, the model
    /// control mode and restrictions, and a hint for every CPU model left at Triton's one-instance default.
    /// </summary>
    public static IReadOnlyList<string> StartupLines(InferenceServer server, InferenceServerOptions options)
    {
        var ready = server.ModelIndex(readyOnly: true).Select(e => $"{e.Name} v{e.Version}").ToList();
        var everywhere = options.Host is "0.0.0.0" or "*" or "" or "::" or "[::]" ? " (every interface)" : "";
        var lines = new List<string>
        {
            $"histoscale serve: {ready.Count} model version(s) ready ({string.Join(", ", ready)})",
            $"  HTTP    {options.Host}:{server.HttpPort}  (KServe v2 REST, /v2){everywhere}",
            $"  gRPC    {options.Host}:{server.GrpcPort}  (inference.GRPCInferenceService){everywhere}",
            $"  metrics {options.Host}:{server.MetricsPort}  (/metrics){everywhere}",
            "  model control: " + options.ModelControl switch
            {
                ModelControlMode.Explicit => "explicit (clients load and unload)",
                ModelControlMode.Poll => string.Create(CultureInfo.InvariantCulture, $"poll (repository rescanned every {options.RepositoryPollInterval.TotalSeconds:0.###} s; load/unload requests refused)"),
                _ => "none (load/unload requests refused)",
            },
        };
        lines.Add("  memory budget: " + (options.MemoryBudgetBytes > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{options.MemoryBudgetBytes / (1024.0 * 1024):0.#} MiB of queued + running requests (--memory-budget)")
            : "none (--memory-budget)"));
        AddRestrictions(lines, "HTTP", options.HttpRestrictedApis);
        AddRestrictions(lines, "gRPC", options.GrpcRestrictedProtocols);
        lines.AddRange(server.CpuLayoutHints(options.Runtime.Device).Select(h => "  hint: " + h));
        return lines;
    }

    private static void AddRestrictions(List<string> lines, string transport, RestrictedApis restrictions)
    {
        foreach (var group in restrictions.Groups)
        {
            lines.Add($"  {transport} restricted: {string.Join(", ", group.Categories)} (header '{group.Restriction.Header}')");
        }
    }

    private static ModelControlMode ParseControlMode(string value) => value.ToLowerInvariant() switch
    {
        // Case-insensitive, as Triton reads it (NONE, EXPLICIT and POLL are common in Triton command lines).
        "none" => ModelControlMode.None,
        "explicit" => ModelControlMode.Explicit,
        "poll" => ModelControlMode.Poll,
        _ => throw new InputException($"--model-control-mode: '{value}' is not none, explicit or poll"),
    };

    private static RestrictedApis ParseRestrictions(string[]? specs, string prefix, string flag)
    {
        try
        {
            return RestrictedApis.Parse(specs ?? [], prefix);
        }
        catch (FormatException ex)
        {
            throw new InputException($"{flag}: {ex.Message}");
        }
    }
}
