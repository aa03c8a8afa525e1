using System.Text.Json;
using YamlDotNet.Serialization;

namespace Histoscale.Deploy;

/// <summary>Objects are built as ordered maps and lists, then written as YAML or JSON (quoting handled by the serializers).</summary>
internal static class Emit
{
    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .Build();

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>An ordered map; pairs whose value is null are left out.</summary>
    public static Dictionary<string, object?> M(params (string Key, object? Value)[] pairs)
    {
        var map = new Dictionary<string, object?>(pairs.Length);
        foreach (var (k, v) in pairs)
        {
            if (v is not null)
            {
                map[k] = v;
            }
        }
        return map;
    }

    public static List<object?> L(params object?[] items) => [.. items.Where(i => i is not null)];

    public static string Yaml(object value) => Serializer.Serialize(value);

    public static string Json(object value) => JsonSerializer.Serialize(value, JsonOptions) + "\n";

    /// <summary>Numbers as KEDA's string-typed metadata wants them.</summary>
    public static string S(double value) => value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
