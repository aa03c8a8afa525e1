using Microsoft.ML.OnnxRuntime;

namespace Histoscale.Inference.OnnxRuntime;

/// <summary>The inputs and outputs an ONNX file declares, as ONNX Runtime reads them (-1 for symbolic dims).</summary>
public sealed record OnnxSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    /// <summary>Opens the model with graph optimisation off (fast) just to read its signature.</summary>
    public static OnnxSignature Read(string path, string? modelName = null)
    {
        if (!File.Exists(path))
        {
            throw new ModelConfigException("model file does not exist", model: modelName, file: path);
        }
        try
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
            using var session = new InferenceSession(path, options);
            return FromSession(session, modelName, path);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelConfigException($"ONNX Runtime cannot load the model: {ex.Message}", model: modelName, file: path, inner: ex);
        }
    }

    internal static OnnxSignature FromSession(InferenceSession session, string? modelName, string path) =>
        new(Specs(session.InputMetadata, modelName, path), Specs(session.OutputMetadata, modelName, path));

    private static List<TensorSpec> Specs(IReadOnlyDictionary<string, NodeMetadata> metadata, string? modelName, string path)
    {
        var specs = new List<TensorSpec>(metadata.Count);
        foreach (var (name, node) in metadata)
        {
            if (!node.IsTensor || OrtTypes.FromOrt(node.ElementDataType) is not { } type)
            {
                throw new ModelConfigException($"'{name}' is not a tensor of a supported element type", model: modelName, file: path, field: name);
            }
            specs.Add(new TensorSpec(name, type, [.. node.Dimensions.Select(d => (long)(d < 0 ? -1 : d))]));
        }
        return specs;
    }
}
