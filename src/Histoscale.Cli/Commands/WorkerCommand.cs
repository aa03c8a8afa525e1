using System.CommandLine;
using System.Runtime.InteropServices;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.KServe;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Running;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale worker --queue URL</c>: takes slide jobs from the queue and runs each as <c>infer</c> would, with
/// ONNX Runtime in-process or on a KServe v2 server (<c>--server</c>). SIGTERM (or Ctrl-C) stops taking jobs; the
/// slides in hand get <c>--grace</c> seconds to finish, else they are returned to the queue with their checkpoint;
/// then exit 0. Exit 2 on bad flags, an unknown queue scheme, or a broker unreachable after the retries.
/// </summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var queue = QueueFlags.Queue();
        var connectAttempts = QueueFlags.ConnectAttempts();
        var server = new Option<string?>("--server") { Description = "Run the models on a KServe v2 server (ours or Triton): grpc://HOST:8001 or http://HOST:8000; jobs then name served models" };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight to the server", DefaultValueFactory = _ => 4 };
        var inFlight = new Option<int>("--slides-in-flight") { Description = "Slides this worker runs at once", DefaultValueFactory = _ => 1 };
        var idleExit = new Option<double?>("--idle-exit") { Description = "Exit after this many seconds with no job (for scale-to-zero jobs); default: never" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics on this port (/metrics)" };
        var maxAttempts = new Option<int>("--max-attempts") { Description = "Attempts per job before it goes to the dead-letter queue", DefaultValueFactory = _ => 3 };
        var grace = new Option<double>("--grace") { Description = "Seconds the slides in hand get to finish after SIGTERM before they are returned to the queue", DefaultValueFactory = _ => 30 };
        var visibility = new Option<double>("--visibility-timeout") { Description = "Redis, Azure: seconds without a keep-alive after which another worker takes a job (its worker died)", DefaultValueFactory = _ => 120 };
        var maxBrokerErrors = new Option<int>("--max-broker-errors") { Description = "Exit 1 after this many failures in a row to take a job from the broker (reconnecting, with backoff up to 30 s), so the orchestrator restarts the worker", DefaultValueFactory = _ => 10 };
        var checkpointInterval = new Option<double>("--checkpoint-interval") { Description = "Object-store outputs: seconds between uploads of a running slide's checkpoint to the output (PREFIX/.histoscale/), from which a job redelivered to another worker resumes", DefaultValueFactory = _ => 60 };
        var workers = new Option<int?>("--workers") { Description = "Read/decode/preprocess threads per slide (default: one per core)" };
        var instances = new Option<int?>("--instances") { Description = "Parallel model instances (in-process)" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads per instance (in-process)" };
        var command = new Command("worker", "Take slide jobs from a broker's queue and run them (in-process or on an inference server)")
        {
            queue, connectAttempts, server, concurrency, inFlight, idleExit, metricsPort, maxAttempts, grace, visibility, maxBrokerErrors, checkpointInterval, workers, instances, threads,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            QueueFlags.Check(r.GetValue(connectAttempts));
            if (r.GetValue(inFlight) < 1 || r.GetValue(maxAttempts) < 1 || r.GetValue(maxBrokerErrors) < 1)
            {
                throw new InputException("--slides-in-flight, --max-attempts and --max-broker-errors must be at least 1");
            }
            if (r.GetValue(grace) < 0 || r.GetValue(idleExit) is < 0 || !(r.GetValue(visibility) > 0) || !(r.GetValue(checkpointInterval) > 0))
            {
                throw new InputException("--grace and --idle-exit must be 0 or more seconds, --visibility-timeout and --checkpoint-interval more than 0");
            }
            if (r.GetValue(metricsPort) is < 1 or > 65535)
            {
                throw new InputException($"--metrics-port {r.GetValue(metricsPort)} is not a port number");
            }
            if (r.GetValue(workers) is < 1 || r.GetValue(instances) is < 1 || r.GetValue(threads) is < 1 || r.GetValue(concurrency) < 1)
            {
                throw new InputException("--workers, --instances, --threads and --concurrency must be at least 1");
            }
            var serverUrl = r.GetValue(server);
            var stderr = r.InvocationConfiguration.Error;
            var visibilityTimeout = TimeSpan.FromSeconds(r.GetValue(visibility));
            var host = HostContext.FromEnvironment();
            await using var q = await JobQueues.OpenAsync(r.GetValue(queue)!, QueueFlags.Options(r.GetValue(connectAttempts)) with { VisibilityTimeout = visibilityTimeout, Warning = stderr.WriteLine }, ct);

            // SIGTERM is what Kubernetes and ECS send before they stop a container: stop taking jobs, let the ones
            // in hand finish within the grace period. Handled here (not left to the default) so the exit code is 0.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            var options = new WorkerOptions
            {
                SlidesInFlight = r.GetValue(inFlight),
                IdleExit = r.GetValue(idleExit) is { } idle ? TimeSpan.FromSeconds(idle) : null,
                MaxAttempts = r.GetValue(maxAttempts),
                MaxBrokerErrors = r.GetValue(maxBrokerErrors),
                Grace = TimeSpan.FromSeconds(r.GetValue(grace)),
                KeepAliveInterval = visibilityTimeout / 3,
                MetricsPort = r.GetValue(metricsPort),
                Slides = host.Slides,
                ObjectStores = host.ObjectStores,
                CheckpointInterval = TimeSpan.FromSeconds(r.GetValue(checkpointInterval)),
                ReadWorkers = r.GetValue(workers),
                Environment = new Dictionary<string, object?>
                {
                    ["backend"] = serverUrl is null ? "onnxruntime" : $"kserve {serverUrl}",
                    ["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(),
                    ["cores"] = Environment.ProcessorCount,
                    ["worker"] = $"{Environment.MachineName}-{Environment.ProcessId}",
                },
            };
            JobModelLoader loader = async (job, overrides, cancel) =>
            {
                if (serverUrl is null)
                {
                    var description = ModelDescription.Load(job.Model, overrides);
                    var p = job.Parameters;
                    return new JobModel(description, OnnxRuntimeBackend.Create(description, InferCommand.LocalOptions(description, p.Device, p.Batch, r.GetValue(instances), r.GetValue(threads), spinning: false)));
                }
                var remote = await RemoteBackends.CreateAsync(serverUrl, job.Model, job.ModelVersion, r.GetValue(concurrency), cancel);
                return new JobModel(ModelDescription.FromServer(serverUrl, remote.Config, remote.Metadata, overrides), remote);
            };
            stderr.WriteLine($"worker: taking jobs from {q.Name} ({options.SlidesInFlight} slide{(options.SlidesInFlight == 1 ? "" : "s")} in flight{(options.MetricsPort is { } mp ? $", metrics on :{mp}/metrics" : "")})");
            var summary = await new SlideWorker(q, loader, options, stderr).RunAsync(stop.Token);
            stderr.WriteLine($"worker: exiting: {summary.Completed} completed, {summary.Failed} failed attempts, {summary.DeadLettered} dead-lettered, {summary.Returned} returned");
            return CliRunner.Ok;
        });
        return command;
    }
}
