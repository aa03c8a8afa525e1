using System.Text.Json;

namespace Histoscale.Cli;

/// <summary>JSON options shared by every verb: camelCase keys, as the CLI's documented contract.</summary>
public static class CliJson
{
    public static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static readonly JsonSerializerOptions Compact = new(JsonSerializerDefaults.Web);
}
