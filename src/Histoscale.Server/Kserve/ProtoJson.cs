using System.Collections;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Histoscale.Server.Kserve;

/// <summary>
/// Writes a protobuf message as JSON the way Triton's HTTP endpoints do (config, statistics): original snake_case
/// field names, default values printed, enums by name — and 64-bit integers as JSON numbers, which Triton restores
/// after protobuf's printer quotes them (clients such as perf_analyzer read <c>dims</c> as numbers).
/// </summary>
internal static class ProtoJson
{
    public static void Write(Utf8JsonWriter writer, IMessage message)
    {
        writer.WriteStartObject();
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.RealContainingOneof is not null && !field.Accessor.HasValue(message))
            {
                continue;
            }
            var value = field.Accessor.GetValue(message);
            if (value is null)
            {
                continue; // an unset sub-message
            }
            writer.WritePropertyName(field.Name);
            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                writer.WriteStartObject();
                foreach (DictionaryEntry e in (IDictionary)value)
                {
                    writer.WritePropertyName(Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!);
                    WriteSingle(writer, valueField, e.Value!);
                }
                writer.WriteEndObject();
            }
            else if (field.IsRepeated)
            {
                writer.WriteStartArray();
                foreach (var item in (IList)value)
                {
                    WriteSingle(writer, field, item);
                }
                writer.WriteEndArray();
            }
            else
            {
                WriteSingle(writer, field, value);
            }
        }
        writer.WriteEndObject();
    }

    private static void WriteSingle(Utf8JsonWriter writer, FieldDescriptor field, object value)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
            case FieldType.Group:
                Write(writer, (IMessage)value);
                break;
            case FieldType.Enum:
                var number = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
                writer.WriteStringValue(field.EnumType.FindValueByNumber(number)?.Name ?? number.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case FieldType.Bool:
                writer.WriteBooleanValue((bool)value);
                break;
            case FieldType.String:
                writer.WriteStringValue((string)value);
                break;
            case FieldType.Bytes:
                writer.WriteBase64StringValue(((ByteString)value).Span);
                break;
            case FieldType.Double:
                writer.WriteNumberValue((double)value);
                break;
            case FieldType.Float:
                writer.WriteNumberValue((float)value);
                break;
            case FieldType.UInt64:
            case FieldType.Fixed64:
                writer.WriteNumberValue((ulong)value);
                break;
            case FieldType.UInt32:
            case FieldType.Fixed32:
                writer.WriteNumberValue((uint)value);
                break;
            case FieldType.Int64:
            case FieldType.SInt64:
            case FieldType.SFixed64:
                writer.WriteNumberValue((long)value);
                break;
            default:
                writer.WriteNumberValue((int)value);
                break;
        }
    }
}
