using System.Runtime.InteropServices;
using Histoscale.Benchmarks;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Cli.Commands;

/// <summary>What <c>cost --measure</c> measured on this machine, and the per-vCPU rate the map scales from.</summary>
internal sealed record CostMeasurement(double ModelTilesPerSecond, double? PipelineTilesPerSecond, int Cores, string Arch)
{
    /// <summary>The rate the map uses: the whole pipeline's when a slide was run (reading and decoding included), else model-only.</summary>
    public double TilesPerSecond => PipelineTilesPerSecond ?? ModelTilesPerSecond;

    /// <summary>Tiles per second per vCPU of this machine: <see cref="TilesPerSecond"/> / cores.</summary>
    public double PerVcpu => TilesPerSecond / Cores;

    public static string MachineArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "arm64",
        Architecture.X64 => "x86_64",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>Model-only (<c>bench infer</c>'s harness) and, with a slide, the pipeline on it, on the CPU of this machine.</summary>
    public static async Task<CostMeasurement> RunAsync(ModelDescription model, string? slide, int batch, double seconds, SlideOptions slides, CancellationToken ct)
    {
        var cores = Environment.ProcessorCount;
        double modelRate;
        await using (var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { WarmupBatchSize = 0 }))
        {
            var result = await InferenceBenchmark.RunAsync(backend, new InferenceBenchmarkOptions
            {
                BatchSize = batch,
                Duration = TimeSpan.FromSeconds(seconds),
                WarmupIterations = 1,
                TileSize = model.TileSize,
            }, ct);
            modelRate = result.TilesPerSecond;
        }
        double? pipelineRate = null;
        if (slide is not null)
        {
            var dir = Path.Combine(Path.GetTempPath(), "histoscale-cost-" + Guid.NewGuid().ToString("N"));
            try
            {
                await using var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions());
                await using var batcher = new DynamicBatcher(backend, BatcherOptions.FromConfig(model.Config) with { MaxBatchSize = batch, MaxQueueSize = 0 });
                var run = new InferenceRun(model, batcher, new RunOptions
                {
                    OutputDirectory = dir,
                    Slides = slides,
                    Pipeline = new PipelineOptions { BatchSize = batch },
                });
                var summary = await run.RunAsync([slide], null, ct);
                var s = summary.Slides[0];
                if (s.Status != SlideSummary.Completed)
                {
                    throw new InputException($"{slide}: the measuring run did not complete: {s.Error ?? s.Status}");
                }
                // The inference phase's rate: in a stream of slides the per-slide fixed work (open, tissue detection,
                // writing outputs) overlaps the next slide's inference, so it is not charged per slide here.
                pipelineRate = s.InferenceSeconds > 0 && s.TilesRun > 0 ? s.TilesRun / s.InferenceSeconds : null;
            }
            finally
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
        if (!(modelRate > 0))
        {
            throw new InputException("the model-only measurement gave no throughput (raise --measure-seconds)");
        }
        return new CostMeasurement(modelRate, pipelineRate, cores, MachineArch);
    }

    /// <summary>Tiles the pipeline would run on <paramref name="slide"/> for <paramref name="model"/> (tissue detected, default plan).</summary>
    public static int TilesPerSlide(ModelDescription model, string slide, SlideOptions slides)
    {
        var tileSize = model.TileSize ?? throw new InputException($"model '{model.Name}' takes any tile size; give --tile-size");
        using var s = Slide.Open(slide, slides);
        var options = new RunOptions { OutputDirectory = "." };
        var plan = TilePlanner.Create(s, options.PlanOptions(model, tileSize), TissueDetector.Detect(s, options.Tissue));
        return plan.Tiles.Count;
    }
}
