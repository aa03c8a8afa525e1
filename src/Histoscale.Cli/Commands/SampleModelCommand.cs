using System.CommandLine;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale sample-model NAME --repository DIR [--tile-size N] [--input-type uint8|fp16|fp32]</c>: writes one of
/// the project's own small models (built by its ONNX writer, no downloads) into a Triton-layout repository.
/// </summary>
public static class SampleModelCommand
{
    private static readonly string[] Names = ["tissue_classifier", "hematoxylin_od", "mean_intensity", "embedding", "stain_density"];

    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = string.Join(" | ", Names) };
        var repository = new Option<string>("--repository") { Description = "Model repository folder", Required = true };
        var tileSize = new Option<int>("--tile-size") { Description = "Input tile size", DefaultValueFactory = _ => 224 };
        var inputType = new Option<string>("--input-type") { Description = "uint8 | fp16 | fp32", DefaultValueFactory = _ => "uint8" };
        var sampleStride = new Option<int>("--sample-stride") { Description = "mean_intensity only: average every Nth pixel per axis (a near-free model for pipeline benchmarks)", DefaultValueFactory = _ => 1 };
        var command = new Command("sample-model", "Write a small sample model (built by Histoscale) into a model repository") { name, repository, tileSize, inputType, sampleStride };
        command.SetAction((ParseResult r) =>
        {
            var size = r.GetValue(tileSize);
            if (size is < 16 or > 4096)
            {
                throw new InputException($"--tile-size {size} must be between 16 and 4096");
            }
            var dt = r.GetValue(inputType)!.ToLowerInvariant() switch
            {
                "uint8" => TensorDataType.UInt8,
                "fp16" => TensorDataType.Fp16,
                "fp32" => TensorDataType.Fp32,
                var other => throw new InputException($"--input-type '{other}' must be uint8, fp16 or fp32"),
            };
            var model = r.GetValue(name) switch
            {
                "tissue_classifier" => DemoModels.TissueClassifier(dt, size),
                "hematoxylin_od" => DemoModels.HematoxylinOd(dt, size),
                "mean_intensity" => DemoModels.MeanIntensity(dt, size, sampleStride: Math.Max(1, r.GetValue(sampleStride))),
                "embedding" => DemoModels.Embedding(inputType: dt, tileSize: size),
                "stain_density" => DemoModels.DenseStainMap(inputType: dt, tileSize: size),
                var other => throw new InputException($"unknown sample model '{other}' (one of {string.Join(", ", Names)})"),
            };
            var dir = ModelRepositoryWriter.Write(r.GetValue(repository)!, model);
            r.InvocationConfiguration.Output.WriteLine(dir);
            return 0;
        });
        return command;
    }
}
