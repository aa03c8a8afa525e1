using System.Runtime.InteropServices;
using Google.Protobuf;
using Histoscale.Inference;
using Histoscale.Inference.Tensors;
using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>What <see cref="Fp16Converter.Convert"/> changed.</summary>
/// <param name="Initializers">Float32 initializers (and Constant/ConstantOfShape values) rewritten as float16.</param>
/// <param name="Values">Float values rewritten.</param>
/// <param name="Saturated">Values outside float16's range (±65504) that were clamped to it.</param>
/// <param name="KeptFp32">Nodes left computing in float32, as "OpType name", with Cast nodes around them.</param>
/// <param name="CastsInserted">Cast nodes added (graph inputs/outputs and around the nodes kept in float32).</param>
public sealed record Fp16Summary(int Initializers, long Values, long Saturated, IReadOnlyList<string> KeptFp32, int CastsInserted);

/// <summary>
/// Rewrites a float32 ONNX model to compute in float16: float initializers become float16, a Cast to float16 follows
/// each float32 graph input and a Cast back to float32 precedes each float32 graph output, so the model's interface
/// (and its config.pbtxt) stays float32. Operators with a poor float16 range or precision
/// (<see cref="DefaultKeepFp32Ops"/>: exponentials, logarithms, powers, large reductions, index-producing and
/// non-default-domain ops) keep computing in float32 between Casts. ONNX Runtime's CPU provider runs the result (it
/// casts around the kernels it has only in float32), the CUDA and TensorRT providers natively.
/// </summary>
public static class Fp16Converter
{
    /// <summary>Operators kept in float32 unless the caller gives its own list.</summary>
    public static IReadOnlyCollection<string> DefaultKeepFp32Ops { get; } =
    [
        "Softmax", "LogSoftmax", "Exp", "Log", "Pow", "ReduceSum", "ReduceSumSquare", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceProd", "CumSum", "Range", "TopK", "NonMaxSuppression", "RoiAlign", "Resize", "Upsample",
    ];

    private static readonly int Float = OnnxTypes.ToOnnx(TensorDataType.Fp32);
    private static readonly int Half16 = OnnxTypes.ToOnnx(TensorDataType.Fp16);

    /// <summary>
    /// Reads the float32 model at <paramref name="source"/> and writes its float16 version to <paramref name="target"/>
    /// (one self-contained file; external data is inlined).
    /// </summary>
    /// <param name="source">The float32 .onnx file.</param>
    /// <param name="target">The .onnx file to write (not the source).</param>
    /// <param name="keepFp32Ops">Operator types to keep in float32; null = <see cref="DefaultKeepFp32Ops"/>.</param>
    /// <exception cref="ModelConfigException">Not ONNX, no float32 tensors to convert, or already float16.</exception>
    public static Fp16Summary Convert(string source, string target, IReadOnlyCollection<string>? keepFp32Ops = null)
    {
        if (string.Equals(Path.GetFullPath(source), Path.GetFullPath(target), StringComparison.Ordinal))
        {
            throw new QuantizationConfigException($"--out would overwrite the FP32 model {source}");
        }
        var model = OnnxModelFile.Load(source);
        var summary = Rewrite(model, source, new HashSet<string>(keepFp32Ops ?? DefaultKeepFp32Ops, StringComparer.Ordinal));
        OnnxModelFile.Save(model, target);
        return summary;
    }

    private static Fp16Summary Rewrite(ModelProto model, string path, HashSet<string> keep)
    {
        var graph = new ModelGraph(model);
        var g = model.Graph;
        if (g.Initializer.Any(t => t.DataType == Half16) || g.Input.Any(v => v.Type?.TensorType?.ElemType == Half16))
        {
            throw new ModelConfigException("the model already has float16 tensors; convert its float32 original", file: path);
        }
        var floats = FloatTensors.Find(graph);
        if (floats.Count == 0)
        {
            throw new ModelConfigException("the model has no float32 tensors to convert to float16", file: path);
        }
        // Inputs that ONNX requires in float32 whatever the data type (Resize/Upsample scales and roi).
        var fp32Only = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in g.Node)
        {
            if (node.OpType is "Resize" && node.Domain.Length == 0)
            {
                for (var i = 1; i < Math.Min(3, node.Input.Count); i++)
                {
                    fp32Only.Add(node.Input[i]);
                }
            }
            else if (node.OpType is "Upsample" && node.Input.Count > 1)
            {
                fp32Only.Add(node.Input[1]);
            }
        }
        floats.ExceptWith(fp32Only);

        long values = 0, saturated = 0;
        var initializers = 0;
        foreach (var tensor in g.Initializer)
        {
            if (tensor.DataType == Float && floats.Contains(tensor.Name))
            {
                (var n, var s) = ToHalf(tensor);
                values += n;
                saturated += s;
                initializers++;
            }
        }
        // Initializers listed as graph inputs (IR < 4) change type with their values.
        foreach (var input in g.Input)
        {
            if (graph.Initializers.ContainsKey(input.Name) && floats.Contains(input.Name) && input.Type?.TensorType is { } t)
            {
                t.ElemType = Half16;
            }
        }

        var names = new UniqueNames(g);
        var nodes = new List<NodeProto>(g.Node.Count + 8);
        var casts = 0;
        var kept = new List<string>();
        var renamedInputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (floats.Contains(input))
            {
                var half = names.Get(input + "_fp16");
                nodes.Add(Cast(names, input, half, Half16));
                renamedInputs[input] = half;
                casts++;
            }
        }
        var outputs = new HashSet<string>(graph.Outputs.Where(floats.Contains), StringComparer.Ordinal);
        foreach (var node in g.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (renamedInputs.TryGetValue(node.Input[i], out var renamed))
                {
                    node.Input[i] = renamed;
                }
            }
            var keepFp32 = node.Domain.Length != 0 || keep.Contains(node.OpType);
            if (keepFp32)
            {
                kept.Add($"{node.OpType} {node.Name}".TrimEnd());
                for (var i = 0; i < node.Input.Count; i++)
                {
                    var name = OriginalName(node.Input[i], renamedInputs);
                    if (node.Input[i].Length == 0 || !floats.Contains(name))
                    {
                        continue;
                    }
                    var wide = names.Get(name + "_fp32");
                    nodes.Add(Cast(names, node.Input[i], wide, Float));
                    node.Input[i] = wide;
                    casts++;
                }
            }
            else
            {
                ConvertAttributes(node, ref values, ref saturated, ref initializers);
            }
            var after = new List<NodeProto>();
            for (var o = 0; o < node.Output.Count; o++)
            {
                var name = node.Output[o];
                if (!floats.Contains(name))
                {
                    continue;
                }
                if (keepFp32)
                {
                    // The node writes float32; downstream reads float16 (or, for a graph output, float32 again).
                    if (outputs.Contains(name))
                    {
                        continue;
                    }
                    var wide = names.Get(name + "_fp32");
                    node.Output[o] = wide;
                    after.Add(Cast(names, wide, name, Half16));
                    casts++;
                }
                else if (outputs.Contains(name))
                {
                    var half = names.Get(name + "_fp16");
                    node.Output[o] = half;
                    after.Add(Cast(names, half, name, Float));
                    // Nodes further on that consume this output read the float16 value, not the float32 graph output.
                    renamedInputs[name] = half;
                    casts++;
                }
            }
            if (node.OpType == "Cast" && node.Domain.Length == 0 && !keepFp32 && node.Output.Count == 1 && !outputs.Contains(node.Output[0]))
            {
                var to = node.Attribute.FirstOrDefault(a => a.Name == "to");
                if (to is not null && to.I == Float)
                {
                    to.I = Half16;
                }
            }
            nodes.Add(node);
            nodes.AddRange(after);
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);

        // Intermediate type annotations would now be wrong; ONNX Runtime infers them again.
        var stale = g.ValueInfo.Where(v => floats.Contains(v.Name)).ToList();
        foreach (var v in stale)
        {
            g.ValueInfo.Remove(v);
        }
        return new Fp16Summary(initializers, values, saturated, kept, casts);
    }

    private static string OriginalName(string name, Dictionary<string, string> renamedInputs)
    {
        foreach (var (original, renamed) in renamedInputs)
        {
            if (renamed == name)
            {
                return original;
            }
        }
        return name;
    }

    private static NodeProto Cast(UniqueNames names, string input, string output, int to)
    {
        var node = new NodeProto { OpType = "Cast", Name = names.Get(output + "_cast") };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = to });
        return node;
    }

    /// <summary>Float tensors in Constant / ConstantOfShape attributes become float16 like initializers.</summary>
    private static void ConvertAttributes(NodeProto node, ref long values, ref long saturated, ref int initializers)
    {
        if (node.Domain.Length != 0 || node.OpType is not ("Constant" or "ConstantOfShape"))
        {
            return;
        }
        foreach (var a in node.Attribute)
        {
            if (a.Name == "value" && a.T is { } t && t.DataType == Float)
            {
                var (n, s) = ToHalf(t);
                values += n;
                saturated += s;
                initializers++;
            }
            else if (node.OpType == "Constant" && a.Name == "value_float")
            {
                // value_float has no float16 form: turn it into a float16 tensor value.
                var tensor = OnnxTensorData.Create<float>("", Float, [a.F]);
                ToHalf(tensor);
                a.Name = "value";
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.F = 0;
                a.T = tensor;
                values++;
                initializers++;
            }
            else if (node.OpType == "Constant" && a.Name == "value_floats")
            {
                var tensor = OnnxTensorData.Create<float>("", Float, [.. a.Floats], a.Floats.Count);
                ToHalf(tensor);
                a.Name = "value";
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.Floats.Clear();
                a.T = tensor;
                values += tensor.Dims[0];
                initializers++;
            }
        }
    }

    /// <summary>Rewrites a float32 tensor's values as float16 (raw_data), clamping to ±65504.</summary>
    private static (long Values, long Saturated) ToHalf(TensorProto tensor)
    {
        var floats = OnnxTensorData.ReadFloats(tensor);
        var halves = new Half[floats.Length];
        long saturated = 0;
        for (var i = 0; i < floats.Length; i++)
        {
            var f = floats[i];
            if (float.IsFinite(f) && MathF.Abs(f) > (float)Half.MaxValue)
            {
                f = MathF.CopySign((float)Half.MaxValue, f);
                saturated++;
            }
            halves[i] = (Half)f;
        }
        tensor.FloatData.Clear();
        tensor.DataType = Half16;
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
        return (floats.Length, saturated);
    }

    /// <summary>Fresh tensor and node names that clash with nothing in the graph.</summary>
    private sealed class UniqueNames
    {
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public UniqueNames(GraphProto g)
        {
            foreach (var v in g.Input.Concat(g.Output).Concat(g.ValueInfo))
            {
                _used.Add(v.Name);
            }
            foreach (var t in g.Initializer)
            {
                _used.Add(t.Name);
            }
            foreach (var n in g.Node)
            {
                _used.Add(n.Name);
                _used.UnionWith(n.Input);
                _used.UnionWith(n.Output);
            }
        }

        public string Get(string name)
        {
            var candidate = name;
            for (var i = 1; !_used.Add(candidate); i++)
            {
                candidate = $"{name}_{i}";
            }
            return candidate;
        }
    }
}
