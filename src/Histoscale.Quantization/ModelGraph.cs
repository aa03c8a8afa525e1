using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>Lookups over one ONNX graph: initializers, the producer and consumers of each tensor, graph inputs/outputs.</summary>
internal sealed class ModelGraph
{
    public ModelGraph(ModelProto model)
    {
        Model = model;
        Graph = model.Graph;
        foreach (var tensor in Graph.Initializer)
        {
            Initializers[tensor.Name] = tensor;
        }
        foreach (var node in Graph.Node)
        {
            foreach (var output in node.Output)
            {
                Producers[output] = node;
            }
            foreach (var input in node.Input)
            {
                if (input.Length == 0)
                {
                    continue; // an omitted optional input
                }
                if (!Consumers.TryGetValue(input, out var list))
                {
                    Consumers[input] = list = [];
                }
                list.Add(node);
            }
            foreach (var a in node.Attribute)
            {
                if (a.G is { } g)
                {
                    CollectSubgraphReads(g, SubgraphReads);
                }
                foreach (var sub in a.Graphs)
                {
                    CollectSubgraphReads(sub, SubgraphReads);
                }
            }
        }
        foreach (var output in Graph.Output)
        {
            Outputs.Add(output.Name);
        }
        foreach (var input in Graph.Input)
        {
            if (!Initializers.ContainsKey(input.Name))
            {
                Inputs.Add(input.Name);
            }
        }
    }

    public ModelProto Model { get; }

    public GraphProto Graph { get; }

    public Dictionary<string, TensorProto> Initializers { get; } = [];

    public Dictionary<string, NodeProto> Producers { get; } = [];

    public Dictionary<string, List<NodeProto>> Consumers { get; } = [];

    public HashSet<string> Outputs { get; } = [];

    /// <summary>
    /// Every name read inside a subgraph (If/Loop/Scan bodies), which may be an outer-scope tensor: such tensors
    /// must keep their name and FP32 value.
    /// </summary>
    public HashSet<string> SubgraphReads { get; } = [];

    /// <summary>Graph inputs that are fed at run time (not initializers).</summary>
    public HashSet<string> Inputs { get; } = [];

    public IReadOnlyList<NodeProto> ConsumersOf(string tensor) => Consumers.TryGetValue(tensor, out var list) ? list : [];

    /// <summary>
    /// The initializer behind <paramref name="tensor"/>, looking through Identity nodes (exporters route shared
    /// weights and biases through them), or null for a value computed at run time.
    /// </summary>
    public TensorProto? Constant(string tensor)
    {
        for (var hops = 0; hops < 16; hops++)
        {
            if (Initializers.TryGetValue(tensor, out var init))
            {
                return init;
            }
            if (!Producers.TryGetValue(tensor, out var node) || node.OpType != "Identity" || node.Domain.Length != 0)
            {
                return null;
            }
            tensor = node.Input[0];
        }
        return null;
    }

    /// <summary>Adds every input name of the nodes of <paramref name="graph"/> and its nested subgraphs to <paramref name="names"/>.</summary>
    public static void CollectSubgraphReads(GraphProto graph, HashSet<string> names)
    {
        foreach (var n in graph.Node)
        {
            names.UnionWith(n.Input);
            foreach (var a in n.Attribute)
            {
                if (a.G is { } g)
                {
                    CollectSubgraphReads(g, names);
                }
                foreach (var sub in a.Graphs)
                {
                    CollectSubgraphReads(sub, names);
                }
            }
        }
    }

    public static long IntAttribute(NodeProto node, string name, long fallback)
    {
        foreach (var a in node.Attribute)
        {
            if (a.Name == name)
            {
                return a.I;
            }
        }
        return fallback;
    }

    public static float FloatAttribute(NodeProto node, string name, float fallback)
    {
        foreach (var a in node.Attribute)
        {
            if (a.Name == name)
            {
                return a.F;
            }
        }
        return fallback;
    }
}
