using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>
/// What both rewriters share: the node list being built, new initializers (activation scales and zero points,
/// quantized weights and biases), unique naming and the final clean-up of what the rewrite left unused.
/// </summary>
internal sealed class GraphEmitter
{
    private const string MicrosoftDomain = "com.microsoft";

    private readonly QuantizationPlan _plan;
    private readonly IReadOnlyDictionary<string, ActivationQuantization> _parameters;
    private readonly bool _reduceRange;
    private readonly HashSet<string> _names = [];
    private readonly Dictionary<string, (string Scale, string ZeroPoint)> _activationConstants = [];
    private readonly Dictionary<string, (string Values, string Scales, string ZeroPoints, QuantizedWeight Weight)> _weights = [];

    public GraphEmitter(QuantizationPlan plan, IReadOnlyDictionary<string, ActivationQuantization> parameters, bool reduceRange)
    {
        _plan = plan;
        _parameters = parameters;
        _reduceRange = reduceRange;
        var g = plan.Graph.Graph;
        foreach (var n in g.Node)
        {
            _names.UnionWith(n.Output);
            _names.UnionWith(n.Input);
            _names.Add(n.Name);
        }
        foreach (var i in g.Initializer)
        {
            _names.Add(i.Name);
        }
        foreach (var v in g.Input.Concat(g.Output))
        {
            _names.Add(v.Name);
        }
    }

    public List<NodeProto> Nodes { get; } = [];

    public List<TensorProto> Initializers { get; } = [];

    public bool UsesMicrosoftDomain { get; private set; }

    public string Unique(string name)
    {
        var candidate = name;
        for (var i = 1; !_names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }
        return candidate;
    }

    public ActivationQuantization Parameters(string tensor) => _parameters[tensor];

    /// <summary>Scalar scale and zero-point initializers of an activation tensor, made once and shared by its users.</summary>
    public (string Scale, string ZeroPoint) ActivationConstants(string tensor)
    {
        if (!_activationConstants.TryGetValue(tensor, out var names))
        {
            var p = _parameters[tensor];
            names = (Unique(tensor + "_scale"), Unique(tensor + "_zero_point"));
            Initializers.Add(OnnxTensorData.Scalar(names.Scale, p.Scale));
            Initializers.Add(OnnxTensorData.Scalar(names.ZeroPoint, p.ZeroPoint));
            _activationConstants[tensor] = names;
        }
        return names;
    }

    /// <summary>The int8 weight, its per-channel scales and zero zero points of <paramref name="node"/>, quantized once per weight.</summary>
    public (string Values, string Scales, string ZeroPoints, QuantizedWeight Weight) Weight(PlannedNode node)
    {
        var w = node.Weight!;
        if (!_weights.TryGetValue(w.Name, out var names))
        {
            var dims = OnnxTensorData.Dims(w);
            var q = WeightQuantizer.Quantize(OnnxTensorData.ReadFloats(w), dims, node.WeightAxis, _reduceRange);
            names = (Unique(w.Name + "_quantized"), Unique(w.Name + "_scale"), Unique(w.Name + "_zero_point"), q);
            Initializers.Add(OnnxTensorData.Create<sbyte>(names.Values, OnnxTensorData.Int8, q.Values, dims));
            Initializers.Add(OnnxTensorData.Create<float>(names.Scales, OnnxTensorData.Float, q.Scales, q.Scales.Length));
            Initializers.Add(OnnxTensorData.Create<sbyte>(names.ZeroPoints, OnnxTensorData.Int8, new sbyte[q.Scales.Length], q.Scales.Length));
            _weights[w.Name] = names;
        }
        return names;
    }

    /// <summary>The int32 bias of <paramref name="node"/> (scale = input scale × weight scale) and, for DequantizeLinear, its scales and zero points.</summary>
    public (string Values, string Scales, string ZeroPoints) Bias(PlannedNode node)
    {
        var weight = Weight(node).Weight;
        var inputScale = _parameters[node.ActivationInputs[0]].Scale;
        var (values, scales) = WeightQuantizer.QuantizeBias(OnnxTensorData.ReadFloats(node.Bias!), inputScale, weight.Scales);
        var names = (Unique(node.Bias!.Name + "_quantized"), Unique(node.Bias!.Name + "_scale"), Unique(node.Bias!.Name + "_zero_point"));
        Initializers.Add(OnnxTensorData.Create<int>(names.Item1, OnnxTensorData.Int32, values, values.Length));
        Initializers.Add(OnnxTensorData.Create<float>(names.Item2, OnnxTensorData.Float, scales, scales.Length));
        Initializers.Add(OnnxTensorData.Create<int>(names.Item3, OnnxTensorData.Int32, new int[values.Length], values.Length));
        return names;
    }

    public NodeProto Add(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, IEnumerable<AttributeProto>? attributes = null, bool microsoft = false)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(nameHint) };
        if (microsoft)
        {
            node.Domain = MicrosoftDomain;
            UsesMicrosoftDomain = true;
        }
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        if (attributes is not null)
        {
            node.Attribute.AddRange(attributes.Select(a => a.Clone()));
        }
        Nodes.Add(node);
        return node;
    }

    /// <summary>QuantizeLinear of an activation with its own parameters; returns the uint8 tensor.</summary>
    public string Quantize(string tensor, string? paramsOf = null)
    {
        var (scale, zeroPoint) = ActivationConstants(paramsOf ?? tensor);
        var output = Unique(tensor + "_quantized");
        Add("QuantizeLinear", [tensor, scale, zeroPoint], [output], tensor + "_QuantizeLinear");
        return output;
    }

    /// <summary>DequantizeLinear of a uint8 activation; <paramref name="output"/> names the float result.</summary>
    public string Dequantize(string quantized, string tensor, string output)
    {
        var (scale, zeroPoint) = ActivationConstants(tensor);
        Add("DequantizeLinear", [quantized, scale, zeroPoint], [output], tensor + "_DequantizeLinear");
        return output;
    }

    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>
    /// Replaces the graph's nodes and initializers with the rewritten ones, drops nodes and initializers nothing uses
    /// any more (the FP32 weights, the Identity nodes that routed them) and declares the com.microsoft opset if used.
    /// </summary>
    public void Commit(string description)
    {
        var model = _plan.Graph.Model;
        var g = model.Graph;
        var nodes = Nodes;
        // Names that must survive: graph outputs and whatever subgraphs read from the outer scope.
        var roots = new HashSet<string>(g.Output.Select(o => o.Name));
        foreach (var n in nodes)
        {
            foreach (var a in n.Attribute)
            {
                if (a.G is { } sub)
                {
                    ModelGraph.CollectSubgraphReads(sub, roots);
                }
                foreach (var sg in a.Graphs)
                {
                    ModelGraph.CollectSubgraphReads(sg, roots);
                }
            }
        }
        HashSet<string> inputsUsed;
        while (true)
        {
            inputsUsed = new HashSet<string>(roots);
            foreach (var n in nodes)
            {
                inputsUsed.UnionWith(n.Input);
            }
            var live = nodes.Where(n => n.Output.Any(inputsUsed.Contains)).ToList();
            if (live.Count == nodes.Count)
            {
                break;
            }
            nodes = live;
        }
        var initializers = g.Initializer.Concat(Initializers).Where(i => inputsUsed.Contains(i.Name)).ToList();
        g.Node.Clear();
        g.Node.AddRange(nodes);
        g.Initializer.Clear();
        g.Initializer.AddRange(initializers);
        // Inputs that were listed only because they were initializers (IR < 4 style) go with them.
        var gone = g.Input.Where(i => _plan.Graph.Initializers.ContainsKey(i.Name) && !inputsUsed.Contains(i.Name)).ToList();
        foreach (var i in gone)
        {
            g.Input.Remove(i);
        }
        // value_info described FP32 intermediates, some of which no longer exist or changed type.
        g.ValueInfo.Clear();
        if (UsesMicrosoftDomain && !model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        model.MetadataProps.Add(new StringStringEntryProto { Key = "histoscale.quantization", Value = description });
    }
}
