using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Quantization.Proto;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Quantization;
using Histoscale.Inference.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Histoscale.Inference.Tests.Quantization;

/// <summary>Builds, calibrates and runs small models for the quantization tests.</summary>
internal static class QuantizationFixture
{
    public const int Tile = 32;

    /// <summary>Normalised random images, as the packer would produce them from RGB noise.</summary>
    public static Tensor Batch(int count, int seed)
    {
        var rng = new Random(seed);
        var data = new float[count * 3 * Tile * Tile];
        for (var i = 0; i < data.Length; i++)
        {
            // Smooth-ish values in roughly the normalised range [-2, 2.2].
            data[i] = (float)((rng.NextDouble() * 255 - 120) / 58);
        }
        return Tensor.FromValues<float>(TensorDataType.Fp32, data, count, 3, Tile, Tile);
    }

    public static string Save(TempDir dir, BuiltModel model, string file = "model.onnx")
    {
        var path = Path.Combine(dir.Path, file);
        File.WriteAllBytes(path, model.Onnx);
        return path;
    }

    /// <summary>Quantizes <paramref name="fp32Path"/> with four calibration batches; returns the summary.</summary>
    public static async Task<QuantizationSummary> QuantizeAsync(string fp32Path, string int8Path, QuantizationOptions options)
    {
        var source = ModelDescription.FromOnnxFile(fp32Path);
        await using var quantizer = ModelQuantizer.Open(source, options);
        for (var b = 0; b < 4; b++)
        {
            using var inputs = new TensorSet().Add(DemoModels.ImageInput, Batch(8, 100 + b));
            (await quantizer.CalibrateAsync(inputs)).Dispose();
        }
        return quantizer.Write(int8Path);
    }

    public static async Task<float[]> RunAsync(string path, Tensor batch)
    {
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.FromOnnxFile(path), new OnnxRuntimeOptions { WarmupBatchSize = 0 });
        using var inputs = new TensorSet().Add(DemoModels.ImageInput, Tensor.Wrap(batch.DataType, batch.Shape, batch.Memory));
        using var outputs = await backend.ExecuteAsync(inputs);
        return outputs[0].Tensor.ToArray<float>();
    }

    /// <summary>Agreement of the two models on a held-out batch.</summary>
    public static async Task<OutputAgreement> CompareAsync(string fp32Path, string int8Path, int tiles = 16)
    {
        using var batch = Batch(tiles, 7);
        var agreement = new OutputAgreement();
        var reference = await RunAsync(fp32Path, batch);
        var candidate = await RunAsync(int8Path, batch);
        agreement.Add(reference, candidate, tiles);
        return agreement;
    }

    public static ModelProto Load(string path) => OnnxModelFile.Load(path);

    /// <summary>The graph ONNX Runtime actually executes after its optimizations (QDQ fusion included).</summary>
    public static ModelProto Optimized(string path, string optimizedPath)
    {
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimizedPath })
        using (new InferenceSession(path, options))
        {
        }
        return OnnxModelFile.Load(optimizedPath);
    }

    public static Dictionary<string, int> OpCounts(ModelProto model) =>
        model.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
}
