using System.CommandLine;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Server;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale serve</c>: a Triton-compatible inference server over a model repository.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var repository = new Option<string>("--model-repository") { Description = "Triton-layout model repository (REPO/NAME/config.pbtxt, REPO/NAME/1/model.onnx)", Required = true };
        var host = new Option<string>("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var httpPort = new Option<int>("--http-port") { Description = "KServe v2 REST port", DefaultValueFactory = _ => 8000 };
        var grpcPort = new Option<int>("--grpc-port") { Description = "KServe v2 gRPC port", DefaultValueFactory = _ => 8001 };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Prometheus metrics port (/metrics)", DefaultValueFactory = _ => 8002 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or tensorrt (optionally :GPU_ID)", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads per model instance (default: cores / instances)" };
        var exitTimeout = new Option<int>("--exit-timeout-secs") { Description = "How long shutdown waits for in-flight requests", DefaultValueFactory = _ => 30 };
        var spin = new Option<bool>("--allow-spinning") { Description = "Let idle ONNX Runtime threads spin (lower latency, but takes CPU from request handling)" };
        var noLoad = new Option<bool>("--no-autoload") { Description = "Start with no model loaded (load them with POST /v2/repository/models/NAME/load)" };
        var loadModel = new Option<string[]>("--load-model") { Description = "Load only this model at start (repeatable; Triton's explicit mode)", AllowMultipleArgumentsPerToken = false };

        var command = new Command("serve", "Serve a model repository over KServe v2 / Triton's HTTP and gRPC protocols, with Prometheus metrics")
        {
            repository, host, httpPort, grpcPort, metricsPort, device, threads, spin, exitTimeout, noLoad, loadModel,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var ports = new[] { r.GetValue(httpPort), r.GetValue(grpcPort), r.GetValue(metricsPort) };
            if (ports.Any(p => p is < 0 or > 65535) || ports.Where(p => p != 0).Distinct().Count() != ports.Count(p => p != 0))
            {
                throw new InputException("--http-port, --grpc-port and --metrics-port must be distinct ports in 0..65535");
            }
            if (!Directory.Exists(r.GetValue(repository)))
            {
                throw new InputException($"model repository '{r.GetValue(repository)}' does not exist");
            }
            var options = new InferenceServerOptions
            {
                ModelRepository = r.GetValue(repository)!,
                Host = r.GetValue(host)!,
                HttpPort = ports[0],
                GrpcPort = ports[1],
                MetricsPort = ports[2],
                ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, r.GetValue(exitTimeout))),
                LoadAllModels = !r.GetValue(noLoad),
                StartupModels = r.GetValue(loadModel) ?? [],
                Runtime = new OnnxRuntimeOptions { IntraOpThreads = r.GetValue(threads), AllowSpinning = r.GetValue(spin) }.WithDevice(r.GetValue(device)!),
            };
            var output = r.InvocationConfiguration.Output;
            await using var server = await InferenceServer.StartAsync(options, ct);
            var ready = server.ModelIndex(readyOnly: true).Select(e => $"{e.Name} v{e.Version}").ToList();
            output.WriteLine($"histoscale serve: {ready.Count} model version(s) ready ({string.Join(", ", ready)})");
            output.WriteLine($"  HTTP    {options.Host}:{server.HttpPort}  (KServe v2 REST, /v2)");
            output.WriteLine($"  gRPC    {options.Host}:{server.GrpcPort}  (inference.GRPCInferenceService)");
            output.WriteLine($"  metrics {options.Host}:{server.MetricsPort}  (/metrics)");
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
}
