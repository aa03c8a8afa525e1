using Histoscale.Inference.Tensors;

namespace Histoscale.Inference;

/// <summary>
/// Checks a request's tensors against model metadata before anything runs, with Triton-like messages;
/// failures are <see cref="InferenceRequestException"/> (HTTP 400 / gRPC INVALID_ARGUMENT in the server).
/// </summary>
public static class InputValidator
{
    /// <summary>Validates names, datatypes and shapes; returns the batch size (1 for unbatched models).</summary>
    public static int Validate(BackendMetadata metadata, TensorSet inputs)
    {
        foreach (var item in inputs)
        {
            if (!metadata.Inputs.Any(s => s.Name == item.Name))
            {
                throw new InferenceRequestException($"unexpected inference input '{item.Name}' for model '{metadata.Name}'");
            }
        }
        var batch = -1;
        foreach (var spec in metadata.Inputs)
        {
            if (!inputs.TryGet(spec.Name, out var tensor))
            {
                throw new InferenceRequestException($"expected {metadata.Inputs.Count} inputs but got {inputs.Count} inputs for model '{metadata.Name}': missing '{spec.Name}'");
            }
            if (tensor.DataType != spec.DataType)
            {
                throw new InferenceRequestException(
                    $"inference input '{spec.Name}' data-type is '{tensor.DataType.ToKServeName()}', but model '{metadata.Name}' expects '{spec.DataType.ToKServeName()}'");
            }
            var shape = tensor.Shape;
            var ok = shape.Length == spec.Shape.Length;
            for (var d = metadata.IsBatched ? 1 : 0; ok && d < shape.Length; d++)
            {
                ok = spec.Shape[d] < 0 || spec.Shape[d] == shape[d];
            }
            if (!ok)
            {
                throw new InferenceRequestException(
                    $"unexpected shape for input '{spec.Name}' for model '{metadata.Name}'. Expected [{string.Join(',', spec.Shape)}], got [{string.Join(',', shape.ToArray())}]");
            }
            if (metadata.IsBatched)
            {
                var n = shape[0];
                if (n < 1 || n > metadata.MaxBatchSize)
                {
                    throw new InferenceRequestException(
                        $"inference request batch-size must be <= {metadata.MaxBatchSize} for '{metadata.Name}', got {n}");
                }
                if (batch >= 0 && n != batch)
                {
                    throw new InferenceRequestException($"inputs of model '{metadata.Name}' disagree on the batch size ({batch} vs {n} for '{spec.Name}')");
                }
                batch = (int)n;
            }
        }
        return metadata.IsBatched ? batch : 1;
    }
}
