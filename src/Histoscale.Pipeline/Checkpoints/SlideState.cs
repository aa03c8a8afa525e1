using System.Text.Json;
using System.Text.Json.Serialization;
using Histoscale.Pipeline.Outputs;
using Histoscale.Pipeline.Runs;
using Histoscale.Slides.Sources;

namespace Histoscale.Pipeline.Checkpoints;

/// <summary>
/// The small state file beside a slide's checkpoint (<c>OUT/.histoscale/NAME.state.json</c>): which slide (path
/// and content identity) and which settings it was run with, and whether it completed. A completed state with the
/// same path, settings and content identity, and every output present, makes a rerun skip the slide; a checkpoint
/// is resumed only for the content identity it was written from.
/// </summary>
internal sealed record SlideState
{
    /// <summary>2: content identity (version 1 kept size and modification time only, and nothing for URIs).</summary>
    public int Version { get; init; } = 2;

    public required string Slide { get; init; }

    /// <summary>The slide's content identity when it was run; null in states written before it was recorded.</summary>
    public SourceIdentity? Identity { get; init; }

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
}

/// <summary>Compile-time (source-generated) JSON for the state file, a persisted format read back on reruns.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(SlideState))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
