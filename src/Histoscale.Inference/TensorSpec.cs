using Histoscale.Inference.Tensors;

namespace Histoscale.Inference;

/// <summary>
/// Name, datatype and shape of a model input or output as KServe v2 metadata reports it: the full shape,
/// including the batch dimension, with -1 for every variable dimension (the batch one included).
/// </summary>
/// <param name="Name">Tensor name in the model.</param>
/// <param name="DataType">Element type.</param>
/// <param name="Shape">Full shape, batch dimension included; -1 for variable dimensions.</param>
public sealed record TensorSpec(string Name, TensorDataType DataType, long[] Shape)
{
    /// <summary>"name: DATATYPE[d0,d1,...]", e.g. <c>input: FP32[-1,3,224,224]</c>.</summary>
    public override string ToString() => $"{Name}: {DataType.ToKServeName()}[{string.Join(',', Shape)}]";
}

/// <summary>What a loaded model looks like from outside: KServe v2 model metadata plus the batching limit.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Version">The model version, as text (KServe reports versions as strings).</param>
/// <param name="Platform">The model platform, e.g. <c>onnxruntime_onnx</c>.</param>
/// <param name="MaxBatchSize">Triton's max_batch_size; 0 when the model has no batch dimension.</param>
/// <param name="Inputs">The model's inputs.</param>
/// <param name="Outputs">The model's outputs.</param>
public sealed record BackendMetadata(
    string Name,
    string Version,
    string Platform,
    int MaxBatchSize,
    IReadOnlyList<TensorSpec> Inputs,
    IReadOnlyList<TensorSpec> Outputs)
{
    /// <summary>Whether dimension 0 of every tensor is the batch dimension (Triton: max_batch_size &gt; 0).</summary>
    public bool IsBatched => MaxBatchSize > 0;
}
