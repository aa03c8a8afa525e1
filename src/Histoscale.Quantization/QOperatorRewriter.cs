using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>
/// QOperator format: quantized nodes become integer operators that take and return uint8 tensors directly
/// (QLinearConv, QGemm, MatMulIntegerToFloat, QLinearAdd/Mul, QLinearAveragePool/GlobalAveragePool, MaxPool on
/// uint8). QuantizeLinear/DequantizeLinear appear only where FP32 and integer parts of the graph meet.
/// </summary>
internal static class QOperatorRewriter
{
    public static void Rewrite(QuantizationPlan plan, GraphEmitter e)
    {
        var graph = plan.Graph;
        // Nodes that produce uint8: all planned nodes with a quantized output, plus Gemm/MatMul, which can also
        // produce FP32 directly. A planned node whose output must stay FP32 (a graph output) otherwise stays FP32.
        var integer = plan.Nodes.Where(p => plan.QuantizedOutputs.Contains(p.Output) || p.Op is QuantizedOp.Gemm or QuantizedOp.MatMul)
            .Select(p => p.Node).ToHashSet();
        var quantized = new Dictionary<string, string>();

        string Q(string tensor)
        {
            if (!quantized.TryGetValue(tensor, out var name))
            {
                name = e.Quantize(tensor, plan.TiedTo.GetValueOrDefault(tensor, tensor));
                quantized[tensor] = name;
            }
            return name;
        }

        bool NeedsFloat(string tensor) =>
            graph.Outputs.Contains(tensor) || graph.SubgraphReads.Contains(tensor) || graph.ConsumersOf(tensor).Any(c => !integer.Contains(c) && !plan.Folded.Contains(c));

        foreach (var node in graph.Graph.Node)
        {
            if (plan.Folded.Contains(node))
            {
                continue;
            }
            if (!plan.ByNode.TryGetValue(node, out var p) || !integer.Contains(node))
            {
                e.Nodes.Add(node.Clone());
                continue;
            }
            var outputQuantized = plan.QuantizedOutputs.Contains(p.Output);
            var paramsOf = plan.TiedTo.GetValueOrDefault(p.Output, p.Output);
            var qOut = outputQuantized ? e.Unique(p.Output + "_quantized") : null;
            var x = Q(p.ActivationInputs[0]);
            var (xs, xz) = e.ActivationConstants(plan.TiedTo.GetValueOrDefault(p.ActivationInputs[0], p.ActivationInputs[0]));
            (string, string) Ys() => e.ActivationConstants(paramsOf);
            var name = node.Name.Length > 0 ? node.Name : p.Output;
            switch (p.Op)
            {
                case QuantizedOp.Conv:
                    {
                        var (w, ws, wz, _) = e.Weight(p);
                        var (ys, yz) = Ys();
                        List<string> inputs = [x, xs, xz, w, ws, wz, ys, yz];
                        if (p.Bias is not null)
                        {
                            inputs.Add(e.Bias(p).Values);
                        }
                        e.Add("QLinearConv", inputs, [qOut!], name + "_quant", node.Attribute);
                        break;
                    }
                case QuantizedOp.Gemm:
                    {
                        var (w, ws, wz, _) = e.Weight(p);
                        List<string> inputs = [x, xs, xz, w, ws, wz, p.Bias is null ? "" : e.Bias(p).Values];
                        if (outputQuantized)
                        {
                            var (ys, yz) = Ys();
                            inputs.AddRange([ys, yz]);
                        }
                        e.Add("QGemm", inputs, [qOut ?? p.Output], name + "_quant", node.Attribute.Where(a => a.Name != "beta"), microsoft: true);
                        break;
                    }
                case QuantizedOp.MatMul:
                    {
                        var (w, ws, wz, _) = e.Weight(p);
                        var fp32 = outputQuantized ? e.Unique(p.Output + "_float") : p.Output;
                        e.Add("MatMulIntegerToFloat", [x, w, xs, ws, xz, wz], [fp32], name + "_quant", microsoft: true);
                        if (outputQuantized)
                        {
                            var (ys, yz) = Ys();
                            e.Add("QuantizeLinear", [fp32, ys, yz], [qOut!], name + "_QuantizeLinear");
                        }
                        break;
                    }
                case QuantizedOp.Add or QuantizedOp.Mul:
                    {
                        var b = Q(p.ActivationInputs[1]);
                        var (bs, bz) = e.ActivationConstants(plan.TiedTo.GetValueOrDefault(p.ActivationInputs[1], p.ActivationInputs[1]));
                        var (ys, yz) = Ys();
                        e.Add(p.Op == QuantizedOp.Add ? "QLinearAdd" : "QLinearMul", [x, xs, xz, b, bs, bz, ys, yz], [qOut!], name + "_quant", microsoft: true);
                        break;
                    }
                case QuantizedOp.MaxPool:
                    e.Add("MaxPool", [x], [qOut!], name + "_quant", node.Attribute);
                    break;
                case QuantizedOp.AveragePool:
                    {
                        var (ys, yz) = Ys();
                        e.Add("QLinearAveragePool", [x, xs, xz, ys, yz], [qOut!], name + "_quant", [.. node.Attribute, GraphEmitter.IntAttribute("channels_last", 0)], microsoft: true);
                        break;
                    }
                case QuantizedOp.GlobalAveragePool:
                    {
                        var (ys, yz) = Ys();
                        e.Add("QLinearGlobalAveragePool", [x, xs, xz, ys, yz], [qOut!], name + "_quant", [GraphEmitter.IntAttribute("channels_last", 0)], microsoft: true);
                        break;
                    }
            }
            if (qOut is not null)
            {
                quantized[p.Output] = qOut;
                if (NeedsFloat(p.Output))
                {
                    // FP32 consumers keep reading the original name.
                    e.Dequantize(qOut, paramsOf, p.Output);
                }
            }
        }
    }
}
