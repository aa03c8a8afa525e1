using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Models;

/// <summary>
/// Reads the few ONNX protobuf fields a model's signature needs (field numbers from onnx.proto: ModelProto.graph = 7;
/// GraphProto.initializer = 5, input = 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
/// Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2;
/// TensorProto.name = 8). Everything else, weights included, is skipped by seeking, never read into memory.
/// </summary>
internal sealed class OnnxGraphHeader
{
    public List<ValueInfo> Inputs { get; } = [];

    public List<ValueInfo> Outputs { get; } = [];

    public HashSet<string> Initializers { get; } = new(StringComparer.Ordinal);

    public static OnnxGraphHeader Read(ProtoReader input, string? modelName, string path)
    {
        var header = new OnnxGraphHeader();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == WireTag(7))
            {
                Nested(input, () => header.ReadGraph(input, modelName, path));
            }
            else
            {
                input.SkipField(tag);
            }
        }
        return header;
    }

    private void ReadGraph(ProtoReader input, string? modelName, string path)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == WireTag(11) || tag == WireTag(12))
            {
                var list = tag == WireTag(11) ? Inputs : Outputs;
                Nested(input, () => list.Add(ReadValueInfo(input)));
            }
            else if (tag == WireTag(5))
            {
                Nested(input, () => ReadInitializerName(input));
            }
            else if (tag == WireTag(15))
            {
                // sparse_initializer: SparseTensorProto.values (1) is the TensorProto that carries the name.
                Nested(input, () =>
                {
                    uint t;
                    while ((t = input.ReadTag()) != 0)
                    {
                        if (t == WireTag(1))
                        {
                            Nested(input, () => ReadInitializerName(input));
                        }
                        else
                        {
                            input.SkipField(t);
                        }
                    }
                });
            }
            else
            {
                input.SkipField(tag);
            }
        }
    }

    /// <summary>
    /// The specs of <paramref name="values"/>, leaving out initializers when asked (graph inputs that are weights);
    /// element types are checked only for what remains, as ONNX Runtime never lists the others.
    /// </summary>
    public List<TensorSpec> Specs(List<ValueInfo> values, bool skipInitializers, string? modelName, string path)
    {
        var specs = new List<TensorSpec>(values.Count);
        foreach (var v in values)
        {
            if (skipInitializers && Initializers.Contains(v.Name))
            {
                continue;
            }
            if (OnnxTypes.FromOnnx(v.ElemType) is not { } type)
            {
                throw new ModelConfigException($"'{v.Name}' is not a tensor of a supported element type", model: modelName, file: path, field: v.Name);
            }
            specs.Add(new TensorSpec(v.Name, type, v.Dims));
        }
        return specs;
    }

    private void ReadInitializerName(ProtoReader input)
    {
        uint t;
        while ((t = input.ReadTag()) != 0)
        {
            if (t == WireTag(8))
            {
                Initializers.Add(input.ReadString());
            }
            else
            {
                input.SkipField(t);
            }
        }
    }

    private static ValueInfo ReadValueInfo(ProtoReader input)
    {
        var name = "";
        var elemType = -1;
        long[] dims = [];
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == WireTag(1))
            {
                name = input.ReadString();
            }
            else if (tag == WireTag(2))
            {
                Nested(input, () =>
                {
                    uint t;
                    while ((t = input.ReadTag()) != 0)
                    {
                        if (t == WireTag(1))
                        {
                            Nested(input, () => (elemType, dims) = ReadTensorType(input));
                        }
                        else
                        {
                            input.SkipField(t); // sequence, map, optional: not tensors
                        }
                    }
                });
            }
            else
            {
                input.SkipField(tag);
            }
        }
        return new ValueInfo(name, elemType, dims);
    }

    private static (int ElemType, long[] Dims) ReadTensorType(ProtoReader input)
    {
        var elemType = 0;
        var dims = new List<long>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == ((1 << 3) | 0))
            {
                elemType = (int)input.ReadVarint();
            }
            else if (tag == WireTag(2))
            {
                Nested(input, () =>
                {
                    uint t;
                    while ((t = input.ReadTag()) != 0)
                    {
                        if (t == WireTag(1))
                        {
                            Nested(input, () => dims.Add(ReadDimension(input)));
                        }
                        else
                        {
                            input.SkipField(t);
                        }
                    }
                });
            }
            else
            {
                input.SkipField(tag);
            }
        }
        return (elemType, [.. dims]);
    }

    private static long ReadDimension(ProtoReader input)
    {
        var value = -1L;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag == ((1 << 3) | 0))
            {
                var v = (long)input.ReadVarint();
                value = v < 0 ? -1 : v;
            }
            else
            {
                input.SkipField(tag); // dim_param: symbolic, stays -1
            }
        }
        return value;
    }

    /// <summary>Tag of a length-delimited field (wire type 2).</summary>
    private static uint WireTag(int field) => (uint)((field << 3) | 2);

    private static void Nested(ProtoReader input, Action read)
    {
        var outer = input.Enter();
        read();
        input.Leave(outer);
    }

    /// <summary>A graph input or output as stored: name, ONNX element type (-1 when not a tensor), dims.</summary>
    internal sealed record ValueInfo(string Name, int ElemType, long[] Dims);
}
