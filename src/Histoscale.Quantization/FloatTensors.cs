using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>
/// Which tensors of a graph hold float32 values, found by propagating types forward from the inputs and
/// initializers. Only those may get QuantizeLinear; an Add on int64 shape values must stay as it is.
/// </summary>
internal static class FloatTensors
{
    // Ops whose first output has the element type of their first input.
    private static readonly HashSet<string> SameTypeAsInput =
    [
        "Abs", "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "ConvTranspose", "Div", "Dropout",
        "Elu", "Erf", "Exp", "Expand", "Flatten", "Gather", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
        "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "Log",
        "LogSoftmax", "LRN", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mish", "Mul", "Neg", "Pad", "Pow",
        "PRelu", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum", "Relu", "Reshape", "Resize",
        "Selu", "Sigmoid", "Slice", "Softmax", "Softplus", "Softsign", "Split", "Sqrt", "Squeeze", "Sub", "Sum",
        "Tanh", "Tile", "Transpose", "Unsqueeze", "Upsample", "Where",
    ];

    public static HashSet<string> Find(ModelGraph graph)
    {
        var floats = new HashSet<string>();
        var g = graph.Graph;
        foreach (var v in g.Input.Concat(g.ValueInfo).Concat(g.Output))
        {
            if (v.Type?.TensorType is { } t && t.ElemType == OnnxTensorData.Float)
            {
                floats.Add(v.Name);
            }
        }
        foreach (var init in g.Initializer)
        {
            if (init.DataType == OnnxTensorData.Float)
            {
                floats.Add(init.Name);
            }
        }
        foreach (var node in g.Node)
        {
            if (node.Domain.Length != 0 || node.Output.Count == 0)
            {
                continue;
            }
            // Where's data inputs are 1 and 2 (0 is the bool condition).
            var data = node.OpType == "Where" ? (node.Input.Count > 1 ? node.Input[1] : "") : (node.Input.Count > 0 ? node.Input[0] : "");
            var isFloat = node.OpType == "Cast"
                ? ModelGraph.IntAttribute(node, "to", 0) == OnnxTensorData.Float
                : SameTypeAsInput.Contains(node.OpType) && floats.Contains(data);
            if (isFloat)
            {
                floats.Add(node.Output[0]);
                if (node.OpType == "Split")
                {
                    foreach (var o in node.Output)
                    {
                        floats.Add(o);
                    }
                }
            }
        }
        return floats;
    }
}
