namespace Histoscale.Inference.Config;

/// <summary>
/// A protobuf text-format message as a generic tree: an ordered list of fields. Repeated fields appear once per
/// element (the list syntax <c>dims: [1, 2]</c> is expanded), exactly as protobuf's text format defines them.
/// Keeping a generic tree lets <see cref="ModelConfig"/> carry fields it does not model and write them back unchanged.
/// </summary>
internal sealed class PbtxtMessage
{
    public List<PbtxtField> Fields { get; } = [];

    public IEnumerable<PbtxtField> All(string name) => Fields.Where(f => f.Name == name);

    public PbtxtMessage Add(string name, PbtxtValue value)
    {
        Fields.Add(new PbtxtField(name, value, 0));
        return this;
    }
}

/// <summary>One field occurrence; <see cref="Line"/> is 1-based in the source text (0 when built in code).</summary>
internal sealed record PbtxtField(string Name, PbtxtValue Value, int Line);

/// <summary>A field's value: a scalar token or a nested message.</summary>
internal abstract record PbtxtValue;

internal enum PbtxtScalarKind
{
    /// <summary>A quoted string; <see cref="PbtxtScalar.Text"/> holds the unescaped contents.</summary>
    String,

    /// <summary>A numeric literal, kept as written.</summary>
    Number,

    /// <summary>A bare word: enum value or true/false.</summary>
    Identifier,
}

internal sealed record PbtxtScalar(PbtxtScalarKind Kind, string Text) : PbtxtValue
{
    public static PbtxtScalar Str(string s) => new(PbtxtScalarKind.String, s);

    public static PbtxtScalar Num(long n) => new(PbtxtScalarKind.Number, n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static PbtxtScalar Ident(string s) => new(PbtxtScalarKind.Identifier, s);

    public static PbtxtScalar Bool(bool b) => new(PbtxtScalarKind.Identifier, b ? "true" : "false");
}

internal sealed record PbtxtMessageValue(PbtxtMessage Message) : PbtxtValue;
