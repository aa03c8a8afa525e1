namespace Histoscale.Inference.Models;

/// <summary>
/// The inputs and outputs a model declares (-1 for symbolic or unknown dims): read from an ONNX file, or taken from
/// a server's model metadata. Graph inputs that are also initializers (overridable weights) are not inputs.
/// </summary>
/// <param name="Inputs">Graph inputs, in graph order.</param>
/// <param name="Outputs">Graph outputs, in graph order.</param>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    /// <summary>
    /// Reads an ONNX file's graph inputs and outputs straight from its protobuf (ModelProto.graph) with a small wire-format reader, so describing a
    /// model needs no runtime: the pipeline and the server's model loader stay free of native code until a backend
    /// runs the model.
    /// </summary>
    public static ModelSignature ReadOnnx(string path, string? modelName = null)
    {
        if (!File.Exists(path))
        {
            throw new ModelConfigException("model file does not exist", model: modelName, file: path);
        }
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var graph = OnnxGraphHeader.Read(new ProtoReader(file), modelName, path);
            var inputs = graph.Specs(graph.Inputs, skipInitializers: true, modelName, path);
            if (graph.Outputs.Count == 0)
            {
                throw new ModelConfigException("cannot load the model: the file holds no graph outputs (not an ONNX model?)", model: modelName, file: path);
            }
            return new ModelSignature(inputs, graph.Specs(graph.Outputs, skipInitializers: false, modelName, path));
        }
        catch (InvalidDataException ex)
        {
            throw new ModelConfigException($"cannot load the model: not a valid ONNX protobuf ({ex.Message})", model: modelName, file: path, inner: ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelConfigException($"cannot read the model file: {ex.Message}", model: modelName, file: path, inner: ex);
        }
    }
}
