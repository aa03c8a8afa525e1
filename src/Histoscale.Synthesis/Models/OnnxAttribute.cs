namespace Histoscale.Synthesis.Models;

/// <summary>A node attribute (ONNX AttributeProto): one of int, ints, float, floats or string.</summary>
public sealed class OnnxAttribute
{
    // AttributeProto.AttributeType values from onnx.proto.
    internal const int TypeFloat = 1;
    internal const int TypeInt = 2;
    internal const int TypeString = 3;
    internal const int TypeFloats = 6;
    internal const int TypeInts = 7;

    private OnnxAttribute(string name, int type)
    {
        Name = name;
        Type = type;
    }

    /// <summary>The attribute's name (e.g. <c>axis</c>, <c>kernel_shape</c>).</summary>
    public string Name { get; }

    internal int Type { get; }

    internal long IntValue { get; private init; }

    internal float FloatValue { get; private init; }

    internal string StringValue { get; private init; } = "";

    internal long[] IntValues { get; private init; } = [];

    internal float[] FloatValues { get; private init; } = [];

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, TypeInt) { IntValue = value };

    /// <summary>An INTS attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, TypeInts) { IntValues = values };

    /// <summary>A FLOAT attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, TypeFloat) { FloatValue = value };

    /// <summary>A FLOATS attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values) => new(name, TypeFloats) { FloatValues = values };

    /// <summary>A STRING attribute (UTF-8).</summary>
    public static OnnxAttribute String(string name, string value) => new(name, TypeString) { StringValue = value };

    /// <summary>AttributeProto: name=1, f=2, i=3, s=4, floats=7, ints=8, type=20.</summary>
    internal void WriteTo(ProtoWriter w)
    {
        w.String(1, Name);
        switch (Type)
        {
            case TypeFloat: w.Float(2, FloatValue); break;
            case TypeInt: w.Int64(3, IntValue); break;
            case TypeString: w.Bytes(4, System.Text.Encoding.UTF8.GetBytes(StringValue)); break;
            case TypeFloats:
                foreach (var f in FloatValues)
                {
                    w.Float(7, f);
                }
                break;
            case TypeInts:
                foreach (var i in IntValues)
                {
                    w.Int64(8, i);
                }
                break;
        }
        w.Int64(20, Type);
    }
}
