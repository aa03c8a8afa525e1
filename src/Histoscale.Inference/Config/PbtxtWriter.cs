using System.Text;

namespace Histoscale.Inference.Config;

/// <summary>
/// Writes a <see cref="PbtxtMessage"/> as protobuf text in Triton's house style: two-space indent, repeated scalars
/// as <c>dims: [ 3, 224, 224 ]</c>, repeated messages as <c>input [ { ... }, { ... } ]</c>.
/// </summary>
internal static class PbtxtWriter
{
    /// <param name="message">The message to write.</param>
    /// <param name="repeatedFields">Field names written in list syntax even with one element (Triton writes <c>dims: [ 1 ]</c>).</param>
    public static string Write(PbtxtMessage message, IReadOnlySet<string>? repeatedFields = null)
    {
        var sb = new StringBuilder();
        WriteFields(sb, message, 0, repeatedFields ?? new HashSet<string>());
        return sb.ToString();
    }

    private static void WriteFields(StringBuilder sb, PbtxtMessage message, int depth, IReadOnlySet<string> repeated)
    {
        var fields = message.Fields;
        for (var i = 0; i < fields.Count;)
        {
            // Group runs of the same field name so repeated fields come out as one list.
            var j = i + 1;
            while (j < fields.Count && fields[j].Name == fields[i].Name && fields[j].Value.GetType() == fields[i].Value.GetType())
            {
                j++;
            }
            var name = fields[i].Name;
            var asList = j - i > 1 || repeated.Contains(name);
            Indent(sb, depth);
            if (fields[i].Value is PbtxtMessageValue)
            {
                if (asList)
                {
                    sb.Append(name).Append(" [\n");
                    for (var k = i; k < j; k++)
                    {
                        Indent(sb, depth + 1);
                        sb.Append("{\n");
                        WriteFields(sb, ((PbtxtMessageValue)fields[k].Value).Message, depth + 2, repeated);
                        Indent(sb, depth + 1);
                        sb.Append(k + 1 < j ? "},\n" : "}\n");
                    }
                    Indent(sb, depth);
                    sb.Append("]\n");
                }
                else
                {
                    sb.Append(name).Append(" {\n");
                    WriteFields(sb, ((PbtxtMessageValue)fields[i].Value).Message, depth + 1, repeated);
                    Indent(sb, depth);
                    sb.Append("}\n");
                }
            }
            else if (asList)
            {
                sb.Append(name).Append(": [ ");
                for (var k = i; k < j; k++)
                {
                    if (k > i)
                    {
                        sb.Append(", ");
                    }
                    AppendScalar(sb, (PbtxtScalar)fields[k].Value);
                }
                sb.Append(" ]\n");
            }
            else
            {
                sb.Append(name).Append(": ");
                AppendScalar(sb, (PbtxtScalar)fields[i].Value);
                sb.Append('\n');
            }
            i = j;
        }
    }

    private static void AppendScalar(StringBuilder sb, PbtxtScalar scalar)
    {
        if (scalar.Kind != PbtxtScalarKind.String)
        {
            sb.Append(scalar.Text);
            return;
        }
        sb.Append('"');
        foreach (var c in scalar.Text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }

    private static void Indent(StringBuilder sb, int depth) => sb.Append(' ', depth * 2);
}
