using Histoscale.Inference;
using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>The operator families the quantizer rewrites.</summary>
public enum QuantizedOp
{
    /// <summary>Convolutions (per-channel weights).</summary>
    Conv,
    /// <summary>Fully connected layers (Gemm).</summary>
    Gemm,
    /// <summary>Matrix multiplications.</summary>
    MatMul,
    /// <summary>Element-wise addition (residual connections).</summary>
    Add,
    /// <summary>Element-wise multiplication.</summary>
    Mul,
    /// <summary>Max pooling.</summary>
    MaxPool,
    /// <summary>Average pooling.</summary>
    AveragePool,
    /// <summary>Global average pooling.</summary>
    GlobalAveragePool,
}

/// <summary>
/// One node that will run quantized: its activation inputs, the tensor its quantized output stands for (the
/// following Relu's output when the Relu was folded in), and its constant weight and bias.
/// </summary>
internal sealed record PlannedNode(
    NodeProto Node,
    QuantizedOp Op,
    string[] ActivationInputs,
    string Output,
    NodeProto? FoldedRelu,
    TensorProto? Weight = null,
    TensorProto? Bias = null,
    int WeightAxis = 0);

/// <summary>
/// Decides what to quantize in an FP32 model: which nodes, which activation tensors need calibrated ranges, which
/// Relus fold into their producer. Everything else stays FP32 and is bridged with Quantize/DequantizeLinear, so any
/// model that ONNX Runtime runs still runs after the rewrite.
/// </summary>
internal sealed class QuantizationPlan
{
    public const int MinimumOpset = 13; // per-axis QuantizeLinear/DequantizeLinear

    private QuantizationPlan(ModelGraph graph, List<PlannedNode> nodes)
    {
        Graph = graph;
        Nodes = nodes;
        foreach (var p in nodes)
        {
            ByNode[p.Node] = p;
            ByOutput[p.Output] = p;
            if (p.FoldedRelu is { } relu)
            {
                Folded.Add(relu);
            }
            foreach (var input in p.ActivationInputs)
            {
                Tensors.Add(input);
            }
            if (!graph.Outputs.Contains(p.Output))
            {
                Tensors.Add(p.Output);
                QuantizedOutputs.Add(p.Output);
            }
        }
        // Max pooling commutes with a monotone quantizer: give its output the input's parameters so it can run on
        // uint8 directly (the integer op requires equal scales).
        foreach (var p in nodes)
        {
            if (p.Op == QuantizedOp.MaxPool && QuantizedOutputs.Contains(p.Output))
            {
                TiedTo[p.Output] = p.ActivationInputs[0];
            }
        }
    }

    public ModelGraph Graph { get; }

    /// <summary>Planned nodes in graph order.</summary>
    public List<PlannedNode> Nodes { get; }

    public Dictionary<NodeProto, PlannedNode> ByNode { get; } = [];

    public Dictionary<string, PlannedNode> ByOutput { get; } = [];

    public HashSet<NodeProto> Folded { get; } = [];

    /// <summary>Every activation tensor that gets uint8 parameters.</summary>
    public HashSet<string> Tensors { get; } = [];

    /// <summary>Planned outputs that are quantized (all but graph outputs, which stay FP32 for the caller).</summary>
    public HashSet<string> QuantizedOutputs { get; } = [];

    /// <summary>Tensors whose parameters are those of another tensor rather than their own range.</summary>
    public Dictionary<string, string> TiedTo { get; } = [];

    /// <summary>The tensors whose ranges calibration must measure.</summary>
    public IEnumerable<string> CalibrationTensors => Tensors.Where(t => !TiedTo.ContainsKey(t));

    public static QuantizationPlan Create(ModelProto model, string modelPath, ISet<QuantizedOp>? ops = null)
    {
        Validate(model, modelPath);
        var graph = new ModelGraph(model);
        var floats = FloatTensors.Find(graph);
        var nodes = new List<PlannedNode>();
        var folded = new HashSet<NodeProto>();
        foreach (var node in graph.Graph.Node)
        {
            if (folded.Contains(node) || node.Domain.Length != 0)
            {
                continue;
            }
            var planned = PlanNode(graph, floats, node);
            if (planned is null || (ops is not null && !ops.Contains(planned.Op)))
            {
                continue;
            }
            if (planned.Op is QuantizedOp.Conv or QuantizedOp.Gemm or QuantizedOp.MatMul or QuantizedOp.Add && FoldableRelu(graph, planned.Output) is { } relu)
            {
                planned = planned with { Output = relu.Output[0], FoldedRelu = relu };
                folded.Add(relu);
            }
            nodes.Add(planned);
        }
        if (nodes.Count == 0)
        {
            throw new ModelConfigException("nothing to quantize: the model has no Conv, Gemm, MatMul, Add, Mul or pooling node on float32 activations", file: modelPath);
        }
        return new QuantizationPlan(graph, nodes);
    }

    private static void Validate(ModelProto model, string modelPath)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < MinimumOpset)
        {
            throw new ModelConfigException($"the model uses ONNX opset {opset}; quantization needs opset {MinimumOpset} or later (re-export the model with a newer opset)", file: modelPath);
        }
        foreach (var node in model.Graph.Node)
        {
            if (node.OpType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "ConvInteger" or "MatMulInteger"
                || node.OpType.StartsWith("QLinear", StringComparison.Ordinal) || node.OpType.StartsWith("QGemm", StringComparison.Ordinal))
            {
                var name = node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault() ?? "?";
                throw new ModelConfigException($"the model is already quantized (node '{name}' is {node.OpType}); quantize its FP32 original instead", file: modelPath);
            }
        }
    }

    private static PlannedNode? PlanNode(ModelGraph graph, HashSet<string> floats, NodeProto node)
    {
        bool IsActivation(string t) => t.Length > 0 && floats.Contains(t) && graph.Constant(t) is null;
        TensorProto? FloatConstant(string t) => graph.Constant(t) is { } c && c.DataType == OnnxTensorData.Float ? c : null;
        var inputs = node.Input;
        switch (node.OpType)
        {
            case "Conv" when inputs.Count >= 2 && IsActivation(inputs[0]) && FloatConstant(inputs[1]) is { Dims.Count: >= 3 } w:
                {
                    var bias = inputs.Count > 2 && inputs[2].Length > 0 ? FloatConstant(inputs[2]) : null;
                    if (inputs.Count > 2 && inputs[2].Length > 0 && bias is null)
                    {
                        return null; // a bias computed at run time cannot be folded into the int32 accumulator
                    }
                    return new PlannedNode(node, QuantizedOp.Conv, [inputs[0]], node.Output[0], null, w, bias, 0);
                }
            case "Gemm" when inputs.Count >= 2 && IsActivation(inputs[0]) && FloatConstant(inputs[1]) is { Dims.Count: 2 } w
                && ModelGraph.IntAttribute(node, "transA", 0) == 0 && ModelGraph.FloatAttribute(node, "alpha", 1f) == 1f:
                {
                    var transB = ModelGraph.IntAttribute(node, "transB", 0) != 0;
                    var n = transB ? w.Dims[0] : w.Dims[1];
                    TensorProto? bias = null;
                    if (inputs.Count > 2 && inputs[2].Length > 0)
                    {
                        bias = FloatConstant(inputs[2]);
                        // Only a per-output bias (beta 1) can become the int32 bias of the integer Gemm.
                        if (bias is null || ModelGraph.FloatAttribute(node, "beta", 1f) != 1f || bias.Dims.Count != 1 || bias.Dims[0] != n)
                        {
                            return null;
                        }
                    }
                    return new PlannedNode(node, QuantizedOp.Gemm, [inputs[0]], node.Output[0], null, w, bias, transB ? 0 : 1);
                }
            case "MatMul" when IsActivation(inputs[0]) && FloatConstant(inputs[1]) is { Dims.Count: 2 } w:
                return new PlannedNode(node, QuantizedOp.MatMul, [inputs[0]], node.Output[0], null, w, null, 1);
            case "Add" or "Mul" when inputs.Count == 2 && IsActivation(inputs[0]) && IsActivation(inputs[1]):
                return new PlannedNode(node, node.OpType == "Add" ? QuantizedOp.Add : QuantizedOp.Mul, [inputs[0], inputs[1]], node.Output[0], null);
            case "MaxPool" when node.Output.Count == 1 && IsActivation(inputs[0]):
                return new PlannedNode(node, QuantizedOp.MaxPool, [inputs[0]], node.Output[0], null);
            case "AveragePool" when IsActivation(inputs[0]):
                return new PlannedNode(node, QuantizedOp.AveragePool, [inputs[0]], node.Output[0], null);
            case "GlobalAveragePool" when IsActivation(inputs[0]):
                return new PlannedNode(node, QuantizedOp.GlobalAveragePool, [inputs[0]], node.Output[0], null);
            default:
                return null;
        }
    }

    /// <summary>The Relu that alone consumes <paramref name="tensor"/>, if any: uint8 with zero point 0 performs it for free.</summary>
    private static NodeProto? FoldableRelu(ModelGraph graph, string tensor)
    {
        if (graph.Outputs.Contains(tensor) || graph.SubgraphReads.Contains(tensor))
        {
            return null;
        }
        var consumers = graph.ConsumersOf(tensor);
        return consumers.Count == 1 && consumers[0] is { OpType: "Relu", Domain.Length: 0 } relu && !graph.Outputs.Contains(relu.Output[0]) ? relu : null;
    }
}
