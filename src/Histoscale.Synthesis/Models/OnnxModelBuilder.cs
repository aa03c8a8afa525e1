using System.Runtime.InteropServices;
using Histoscale.Inference.Tensors;

namespace Histoscale.Synthesis.Models;

/// <summary>A graph input/output dimension: a fixed size or a symbolic name (dynamic, e.g. "N").</summary>
/// <param name="Value">The fixed size (ignored when <paramref name="Param"/> is set).</param>
/// <param name="Param">The symbolic name, or null for a fixed size.</param>
public readonly record struct OnnxDim(long Value, string? Param)
{
    /// <summary>A fixed dimension of <paramref name="value"/>.</summary>
    public static implicit operator OnnxDim(long value) => new(value, null);

    /// <summary>A symbolic (dynamic) dimension named <paramref name="param"/>.</summary>
    public static implicit operator OnnxDim(string param) => new(0, param);
}

/// <summary>
/// Builds small ONNX models (opset 13, IR version 7) by writing the protobuf wire format directly from the public
/// onnx.proto field numbers — enough for test and demo models, no ONNX package needed. Each op helper adds one node
/// and returns the name of its output, so graphs read like expressions.
/// </summary>
public sealed class OnnxModelBuilder
{
    /// <summary>ONNX IR version written in the ModelProto.</summary>
    public const int IrVersion = 7;
    /// <summary>Default-domain (ai.onnx) opset the graphs use.</summary>
    public const int Opset = 13;

    private readonly string _graphName;
    private readonly List<(string Name, TensorDataType Type, OnnxDim[] Dims)> _inputs = [];
    private readonly List<(string Name, TensorDataType Type, OnnxDim[] Dims)> _outputs = [];
    private readonly List<(string Name, TensorDataType Type, long[] Dims, byte[] Raw)> _initializers = [];
    private readonly List<(string Op, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes)> _nodes = [];
    private int _counter;

    /// <summary>An empty graph named <paramref name="graphName"/>.</summary>
    public OnnxModelBuilder(string graphName = "histoscale") => _graphName = graphName;

    /// <summary>Declares a graph input; returns this builder.</summary>
    public OnnxModelBuilder Input(string name, TensorDataType type, params OnnxDim[] dims)
    {
        _inputs.Add((name, type, dims));
        return this;
    }

    /// <summary>Declares a graph output (a node must produce <paramref name="name"/>); returns this builder.</summary>
    public OnnxModelBuilder Output(string name, TensorDataType type, params OnnxDim[] dims)
    {
        _outputs.Add((name, type, dims));
        return this;
    }

    /// <summary>Adds a constant tensor and returns its name.</summary>
    public string Initializer<T>(ReadOnlySpan<T> values, TensorDataType type, params long[] dims) where T : unmanaged
    {
        var name = $"const_{_counter++}";
        _initializers.Add((name, type, dims, MemoryMarshal.AsBytes(values).ToArray()));
        return name;
    }

    /// <summary>Adds an FP32 constant of shape <paramref name="dims"/> and returns its name.</summary>
    public string Floats(float[] values, params long[] dims) => Initializer<float>(values, TensorDataType.Fp32, dims);

    /// <summary>Adds an FP32 constant of shape [1] and returns its name.</summary>
    public string Scalar(float value) => Floats([value]);

    /// <summary>Adds a one-dimensional INT64 constant (shapes, axes) and returns its name.</summary>
    public string Int64s(params long[] values) => Initializer<long>(values, TensorDataType.Int64, values.Length);

    /// <summary>Adds a node with one output; <paramref name="output"/> names it (e.g. after a graph output), else a fresh name.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params OnnxAttribute[] attributes)
    {
        output ??= $"{opType.ToLowerInvariant()}_{_counter++}";
        _nodes.Add((opType, inputs, [output], attributes));
        return output;
    }

    /// <summary>Cast to <paramref name="to"/>; returns the output's name.</summary>
    public string Cast(string x, TensorDataType to, string? output = null) => Node("Cast", [x], output, OnnxAttribute.Int("to", OnnxTypes.ToOnnx(to)));

    /// <summary>Element-wise a + b (with broadcasting); returns the output's name.</summary>
    public string Add(string a, string b, string? output = null) => Node("Add", [a, b], output);

    /// <summary>Element-wise a − b; returns the output's name.</summary>
    public string Sub(string a, string b, string? output = null) => Node("Sub", [a, b], output);

    /// <summary>Element-wise a × b; returns the output's name.</summary>
    public string Mul(string a, string b, string? output = null) => Node("Mul", [a, b], output);

    /// <summary>Element-wise a ÷ b; returns the output's name.</summary>
    public string Div(string a, string b, string? output = null) => Node("Div", [a, b], output);

    /// <summary>Element-wise maximum; returns the output's name.</summary>
    public string Max(string a, string b, string? output = null) => Node("Max", [a, b], output);

    /// <summary>Natural logarithm; returns the output's name.</summary>
    public string Log(string x, string? output = null) => Node("Log", [x], output);

    /// <summary>Negation; returns the output's name.</summary>
    public string Neg(string x, string? output = null) => Node("Neg", [x], output);

    /// <summary>max(x, 0); returns the output's name.</summary>
    public string Relu(string x, string? output = null) => Node("Relu", [x], output);

    /// <summary>Identity (e.g. to give a graph output its name); returns the output's name.</summary>
    public string Identity(string x, string? output = null) => Node("Identity", [x], output);

    /// <summary>Clip (opset 11+: min and max are inputs, not attributes).</summary>
    public string Clip(string x, float min, float max, string? output = null) => Node("Clip", [x, Scalar(min), Scalar(max)], output);

    /// <summary>Matrix product (numpy semantics); returns the output's name.</summary>
    public string MatMul(string a, string b, string? output = null) => Node("MatMul", [a, b], output);

    /// <summary>Conv with the weight's own kernel shape, stride 1, no padding.</summary>
    public string Conv(string x, string weight, string? bias = null, string? output = null) =>
        Node("Conv", bias is null ? [x, weight] : [x, weight, bias], output);

    /// <summary>ReduceMean (opset 13: axes is an attribute).</summary>
    public string ReduceMean(string x, long[] axes, bool keepDims, string? output = null) =>
        Node("ReduceMean", [x], output, OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    /// <summary>ONNX Slice (opset 13: starts, ends, axes and steps as inputs).</summary>
    public string Slice(string x, long[] starts, long[] ends, long[] axes, long[] steps, string? output = null) =>
        Node("Slice", [x, Int64s(starts), Int64s(ends), Int64s(axes), Int64s(steps)], output);

    /// <summary>Mean over all spatial positions per channel; returns the output's name.</summary>
    public string GlobalAveragePool(string x, string? output = null) => Node("GlobalAveragePool", [x], output);

    /// <summary>Square average pooling, <paramref name="kernel"/>×<paramref name="kernel"/> every <paramref name="stride"/> pixels, no padding; returns the output's name.</summary>
    public string AveragePool(string x, long kernel, long stride, string? output = null) =>
        Node("AveragePool", [x], output, OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", stride, stride));

    /// <summary>Softmax along <paramref name="axis"/>; returns the output's name.</summary>
    public string Softmax(string x, long axis, string? output = null) => Node("Softmax", [x], output, OnnxAttribute.Int("axis", axis));

    /// <summary>Reshape to <paramref name="shape"/> (ONNX rules: 0 copies the input dim, -1 is inferred).</summary>
    public string Reshape(string x, long[] shape, string? output = null) => Node("Reshape", [x, Int64s(shape)], output);

    /// <summary>Permutes dimensions by <paramref name="perm"/>; returns the output's name.</summary>
    public string Transpose(string x, long[] perm, string? output = null) => Node("Transpose", [x], output, OnnxAttribute.Ints("perm", perm));

    /// <summary>Encodes the ModelProto.</summary>
    public byte[] Build()
    {
        var w = new ProtoWriter();
        // ModelProto: ir_version=1, producer_name=2, producer_version=3, model_version=5, graph=7, opset_import=8.
        w.Int64(1, IrVersion);
        w.String(2, "histoscale");
        w.String(3, "1");
        w.Int64(5, 1);
        w.Message(7, WriteGraph);
        w.Message(8, o =>
        {
            // OperatorSetIdProto: domain=1 ("" = ai.onnx), version=2.
            o.String(1, "");
            o.Int64(2, Opset);
        });
        return w.ToArray();
    }

    /// <summary>Writes the encoded model (<see cref="Build"/>) to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllBytes(path, Build());

    private void WriteGraph(ProtoWriter g)
    {
        // GraphProto: node=1, name=2, initializer=5, input=11, output=12.
        var index = 0;
        foreach (var (op, inputs, outputs, attributes) in _nodes)
        {
            var nodeName = $"{op}_{index++}";
            g.Message(1, n =>
            {
                // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5.
                foreach (var i in inputs)
                {
                    n.String(1, i);
                }
                foreach (var o in outputs)
                {
                    n.String(2, o);
                }
                n.String(3, nodeName);
                n.String(4, op);
                foreach (var a in attributes)
                {
                    n.Message(5, a.WriteTo);
                }
            });
        }
        g.String(2, _graphName);
        foreach (var (name, type, dims, raw) in _initializers)
        {
            g.Message(5, t =>
            {
                // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
                foreach (var d in dims)
                {
                    t.Int64(1, d);
                }
                t.Int64(2, OnnxTypes.ToOnnx(type));
                t.String(8, name);
                t.Bytes(9, raw);
            });
        }
        foreach (var (name, type, dims) in _inputs)
        {
            g.Message(11, v => WriteValueInfo(v, name, type, dims));
        }
        foreach (var (name, type, dims) in _outputs)
        {
            g.Message(12, v => WriteValueInfo(v, name, type, dims));
        }
    }

    private static void WriteValueInfo(ProtoWriter v, string name, TensorDataType type, OnnxDim[] dims)
    {
        // ValueInfoProto: name=1, type=2; TypeProto: tensor_type=1; TypeProto.Tensor: elem_type=1, shape=2;
        // TensorShapeProto: dim=1; Dimension: dim_value=1, dim_param=2.
        v.String(1, name);
        v.Message(2, tp => tp.Message(1, tt =>
        {
            tt.Int64(1, OnnxTypes.ToOnnx(type));
            tt.Message(2, shape =>
            {
                foreach (var d in dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d.Param is { } p)
                        {
                            dim.String(2, p);
                        }
                        else
                        {
                            dim.Int64(1, d.Value);
                        }
                    });
                }
            });
        }));
    }
}
