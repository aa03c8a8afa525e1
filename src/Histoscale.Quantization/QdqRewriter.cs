using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>
/// QDQ format: every quantized activation passes through QuantizeLinear → DequantizeLinear, weights and biases are
/// stored as integers behind DequantizeLinear, and the compute ops stay the standard FP32 ones. ONNX Runtime's
/// graph optimizer fuses each DQ → op → Q group into the integer kernel (QLinearConv, QLinearAdd, QGemm, ...); any
/// other runtime still gets a correct FP32 model with quantization noise.
/// </summary>
internal static class QdqRewriter
{
    public static void Rewrite(QuantizationPlan plan, GraphEmitter e)
    {
        var graph = plan.Graph;
        var dequantized = new Dictionary<string, string>();

        // Lazily at first use (or right after a quantized producer), so the node order stays topological.
        string Dq(string tensor)
        {
            if (!dequantized.TryGetValue(tensor, out var name))
            {
                var paramsOf = plan.TiedTo.GetValueOrDefault(tensor, tensor);
                var q = e.Quantize(tensor, paramsOf);
                name = e.Dequantize(q, paramsOf, e.Unique(tensor + "_dequantized"));
                dequantized[tensor] = name;
            }
            return name;
        }

        foreach (var node in graph.Graph.Node)
        {
            if (plan.Folded.Contains(node))
            {
                continue;
            }
            var rewritten = node.Clone();
            if (plan.ByNode.TryGetValue(node, out var p))
            {
                for (var i = 0; i < rewritten.Input.Count; i++)
                {
                    var input = rewritten.Input[i];
                    if (p.ActivationInputs.Contains(input))
                    {
                        rewritten.Input[i] = Dq(input);
                    }
                }
                if (p.Weight is not null)
                {
                    var (values, scales, zeroPoints, _) = e.Weight(p);
                    var axis = GraphEmitter.IntAttribute("axis", p.WeightAxis);
                    rewritten.Input[1] = e.Add("DequantizeLinear", [values, scales, zeroPoints], [e.Unique(p.Weight.Name + "_dequantized")], p.Weight.Name + "_DequantizeLinear", [axis]).Output[0];
                }
                if (p.Bias is not null)
                {
                    var (values, scales, zeroPoints) = e.Bias(p);
                    var axis = GraphEmitter.IntAttribute("axis", 0);
                    rewritten.Input[2] = e.Add("DequantizeLinear", [values, scales, zeroPoints], [e.Unique(p.Bias.Name + "_dequantized")], p.Bias.Name + "_DequantizeLinear", [axis]).Output[0];
                }
                rewritten.Output[0] = p.Output;
                e.Nodes.Add(rewritten);
                if (plan.QuantizedOutputs.Contains(p.Output))
                {
                    Dq(p.Output); // its only consumer is the QuantizeLinear, which is what lets the optimizer fuse
                }
                continue;
            }
            // An FP32 node reading a quantized node's output reads the dequantized value, so the quantized node's
            // output has the QuantizeLinear as its only consumer.
            for (var i = 0; i < rewritten.Input.Count; i++)
            {
                if (plan.QuantizedOutputs.Contains(rewritten.Input[i]))
                {
                    rewritten.Input[i] = dequantized[rewritten.Input[i]];
                }
            }
            e.Nodes.Add(rewritten);
        }
    }
}
