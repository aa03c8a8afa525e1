using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Scheduling;
using Histoscale.Pipeline.Runs;

namespace Histoscale.Pipeline.Tests.Support;

/// <summary>Loads a model on a one-instance CPU backend and runs slides through <see cref="InferenceRun"/>.</summary>
internal static class PipelineHarness
{
    public static async Task<RunSummary> RunAsync(string modelDir, IReadOnlyList<string> slides, RunOptions options,
        Action<SlideProgress>? progress = null, CancellationToken cancellationToken = default, ModelOverrides? overrides = null, Task? modelReady = null)
    {
        var model = ModelDescription.Load(modelDir, overrides);
        await using var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 1, IntraOpThreads = 1, WarmupBatchSize = 0 });
        await using var batcher = new DynamicBatcher(backend, BatcherOptions.FromConfig(model.Config) with { MaxBatchSize = options.Pipeline.BatchSize });
        var run = new InferenceRun(model, batcher, options) { ModelReady = modelReady };
        return await run.RunAsync(slides, progress, cancellationToken);
    }

    public static RunOptions Options(string outDir, int batch = 8) => new()
    {
        OutputDirectory = outDir,
        Pipeline = new Execution.PipelineOptions { BatchSize = batch, ReadWorkers = 2 },
    };
}
