using System.Text.Json;
using System.Text.Json.Serialization;
using Histoscale.Pipeline.Outputs;
using Histoscale.Pipeline.Runs;

namespace Histoscale.Pipeline.Checkpoints;

/// <summary>
/// The small state file beside a slide's checkpoint (<c>OUT/.histoscale/NAME.state.json</c>): which slide file
/// (path, size, modification time) and which settings it was run with, and whether it completed. A completed
/// state with the same slide and settings, and every output present, makes a rerun skip the slide.
/// </summary>
internal sealed record SlideState
{
    public int Version { get; init; } = 1;

    public required string Slide { get; init; }

    public long SlideBytes { get; init; }

    public DateTime SlideModifiedUtc { get; init; }

    /// <summary>Hash of the model and every setting that changes outputs.</summary>
    public required string Settings { get; init; }

    public string? Plan { get; init; }

    /// <summary>running | complete.</summary>
    public required string Status { get; init; }

    public int TilesTotal { get; init; }

    public SlideSummary? Summary { get; init; }

    public static SlideState? TryLoad(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), CheckpointJson.Default.SlideState) : null;
        }
        catch (JsonException)
        {
            return null; // unreadable state: treat as never run
        }
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, CheckpointJson.Default.SlideState));

    /// <summary>Identity of a slide file as recorded in a state.</summary>
    public static (long Bytes, DateTime ModifiedUtc) Identify(string slidePath)
    {
        if (File.Exists(slidePath))
        {
            var info = new FileInfo(slidePath);
            return (info.Length, info.LastWriteTimeUtc);
        }
        return (0, default); // URIs: identified by path alone
    }
}

/// <summary>Compile-time (source-generated) JSON for the state file, a persisted format read back on reruns.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(SlideState))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
