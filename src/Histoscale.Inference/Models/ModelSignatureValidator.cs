using Histoscale.Inference.Config;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Models;

/// <summary>
/// Checks a config's inputs/outputs against what the ONNX graph declares, and fills them in when the config leaves
/// them out (Triton's "auto-complete"). Every mismatch is a <see cref="ModelConfigException"/> naming model, tensor
/// and field, raised at load time.
/// </summary>
internal static class ModelSignatureValidator
{
    public static void CompleteAndValidate(ModelConfig config, ModelSignature model, string? configPath, int defaultMaxBatchSize)
    {
        var name = config.Name;
        if (config.Inputs.Count == 0 || config.Outputs.Count == 0)
        {
            var batchable = model.Inputs.Concat(model.Outputs).All(s => s.Shape.Length > 0 && s.Shape[0] == -1);
            if (config.Inputs.Count == 0 && config.Outputs.Count == 0 && config.MaxBatchSize == 0 && batchable)
            {
                config.MaxBatchSize = defaultMaxBatchSize;
            }
            var skip = config.MaxBatchSize > 0 ? 1 : 0;
            if (config.Inputs.Count == 0)
            {
                config.Inputs.AddRange(model.Inputs.Select(s => new ModelTensorConfig { Name = s.Name, DataType = s.DataType, Dims = s.Shape[skip..] }));
            }
            if (config.Outputs.Count == 0)
            {
                config.Outputs.AddRange(model.Outputs.Select(s => new ModelTensorConfig { Name = s.Name, DataType = s.DataType, Dims = s.Shape[skip..] }));
            }
        }

        for (var i = 0; i < config.Inputs.Count; i++)
        {
            Check(config, config.Inputs[i], $"input[{i}]", model.Inputs, "input", configPath);
        }
        for (var i = 0; i < config.Outputs.Count; i++)
        {
            Check(config, config.Outputs[i], $"output[{i}]", model.Outputs, "output", configPath);
        }
        foreach (var spec in model.Inputs)
        {
            if (!config.Inputs.Any(c => c.Name == spec.Name))
            {
                throw new ModelConfigException($"the ONNX model's input '{spec.Name}' ({Describe(spec)}) is missing from the config", model: name, file: configPath, field: "input");
            }
        }
    }

    private static void Check(ModelConfig config, ModelTensorConfig c, string field, IReadOnlyList<TensorSpec> specs, string kind, string? configPath)
    {
        var name = config.Name;
        var spec = specs.FirstOrDefault(s => s.Name == c.Name)
            ?? throw new ModelConfigException(
                $"'{c.Name}' is not an {kind} of the ONNX model (its {kind}s: {string.Join(", ", specs.Select(Describe))})",
                model: name, file: configPath, field: field + ".name");
        if (spec.DataType != c.DataType)
        {
            throw new ModelConfigException(
                $"{kind} '{c.Name}': config says {c.DataType.ToTritonName()} but the ONNX model declares {spec.DataType.ToTritonName()}",
                model: name, file: configPath, field: field + ".data_type");
        }
        var modelShape = spec.Shape;
        if (config.MaxBatchSize > 0)
        {
            if (modelShape.Length == 0 || modelShape[0] != -1)
            {
                throw new ModelConfigException(
                    $"{kind} '{c.Name}': max_batch_size is {config.MaxBatchSize} but the ONNX model's shape [{string.Join(',', modelShape)}] has no variable batch dimension (set max_batch_size: 0 or export with a dynamic batch axis)",
                    model: name, file: configPath, field: "max_batch_size");
            }
            modelShape = modelShape[1..];
        }
        var expected = c.Reshape ?? c.Dims;
        var expectedField = c.Reshape is null ? field + ".dims" : field + ".reshape.shape";
        var ok = expected.Length == modelShape.Length;
        for (var d = 0; ok && d < expected.Length; d++)
        {
            ok = expected[d] == modelShape[d] || modelShape[d] == -1 || expected[d] == -1;
        }
        if (!ok)
        {
            throw new ModelConfigException(
                $"{kind} '{c.Name}': config dims [{string.Join(',', expected)}] do not match the ONNX model's [{string.Join(',', modelShape)}]{(config.MaxBatchSize > 0 ? " (batch dimension excluded)" : "")}",
                model: name, file: configPath, field: expectedField);
        }
        if (c.Reshape is { } reshape && Known(c.Dims) && Known(reshape) && Product(c.Dims) != Product(reshape))
        {
            throw new ModelConfigException(
                $"{kind} '{c.Name}': dims [{string.Join(',', c.Dims)}] and reshape [{string.Join(',', reshape)}] hold different element counts",
                model: name, file: configPath, field: field + ".reshape");
        }
    }

    private static bool Known(long[] dims) => dims.All(d => d >= 0);

    private static long Product(long[] dims) => dims.Aggregate(1L, (a, b) => a * b);

    private static string Describe(TensorSpec s) => $"{s.Name} {s.DataType.ToTritonName()} [{string.Join(',', s.Shape)}]";
}
