using System.Text.Json;
using System.Text.Json.Serialization;

namespace Histoscale.Workers.Jobs;

/// <summary>
/// One slide to run a model over: the message a broker carries (UTF-8 JSON, <see cref="ToJson"/>). Versioned: a
/// worker refuses a message of a newer <see cref="Version"/> than it knows, naming both, rather than guess.
/// </summary>
public sealed record SlideJob
{
    /// <summary>The contract version this code writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Contract version of the message.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Unique id of the job (one per slide per submission).</summary>
    public required string Id { get; init; }

    /// <summary>Id shared by the jobs of one <c>submit</c>.</summary>
    public required string BatchId { get; init; }

    /// <summary>Slide path or URI, as the workers will open it.</summary>
    public required string Slide { get; init; }

    /// <summary>Model: repository model directory or .onnx file (in-process), or the served model's name (remote).</summary>
    public required string Model { get; init; }

    /// <summary>Served model version, for remote backends; null = the server's choice.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Output folder of the slide's outputs and checkpoint.</summary>
    public required string Output { get; init; }

    /// <summary>The <c>infer</c> settings the slide runs with.</summary>
    public JobParameters Parameters { get; init; } = new();

    /// <summary>When the job was submitted.</summary>
    public DateTimeOffset Submitted { get; init; }

    /// <summary>The message body: UTF-8 JSON.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JobJson.Default.SlideJob);

    /// <summary>Reads and checks a message body.</summary>
    /// <exception cref="JobFormatException">Not JSON, not a job, a newer version, or a missing or invalid field (named).</exception>
    public static SlideJob Parse(ReadOnlySpan<byte> json)
    {
        SlideJob? job;
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JobFormatException($"a job is a JSON object, not {doc.RootElement.ValueKind}");
            }
            if (doc.RootElement.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var version) && version > CurrentVersion)
            {
                throw new JobFormatException($"job version {version} is newer than this worker understands ({CurrentVersion}); upgrade the workers");
            }
            job = JsonSerializer.Deserialize(doc.RootElement, JobJson.Default.SlideJob);
        }
        catch (JsonException ex)
        {
            throw new JobFormatException($"not a valid job message: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new JobFormatException($"not a valid job message: {ex.Message}", ex);
        }
        if (job is null)
        {
            throw new JobFormatException("not a valid job message: null");
        }
        job.Validate();
        return job;
    }

    /// <summary>Checks every field; throws <see cref="JobFormatException"/> naming the first that is wrong.</summary>
    public void Validate()
    {
        if (Version < 1)
        {
            throw new JobFormatException($"job field 'version' must be 1 or more, not {Version}");
        }
        Require(Id, "id");
        Require(BatchId, "batchId");
        Require(Slide, "slide");
        Require(Model, "model");
        Require(Output, "output");
        Parameters.Validate();
    }

    private static void Require(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new JobFormatException($"job field '{field}' is missing or empty");
        }
    }
}

/// <summary>The <c>infer</c> flags a job carries (the same names and defaults).</summary>
public sealed record JobParameters
{
    /// <summary>Tiles per batch (<c>--batch</c>).</summary>
    public int Batch { get; init; } = 32;

    /// <summary>Device for in-process inference (<c>--device</c>): cpu, cuda, tensorrt, optionally :GPU_ID.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Tile size (<c>--tile-size</c>).</summary>
    public int? TileSize { get; init; }

    /// <summary>Target µm/px (<c>--mpp</c>).</summary>
    public double? Mpp { get; init; }

    /// <summary>Normalisation mean R,G,B (<c>--mean</c>).</summary>
    public float[]? Mean { get; init; }

    /// <summary>Normalisation std R,G,B (<c>--std</c>).</summary>
    public float[]? Std { get; init; }

    /// <summary>Class names (<c>--classes</c>).</summary>
    public string[]? Classes { get; init; }

    /// <summary>False runs every tile (<c>--no-tissue</c>).</summary>
    public bool DetectTissue { get; init; } = true;

    /// <summary>Minimum tissue fraction of a tile (<c>--min-tissue</c>).</summary>
    public double MinTissue { get; init; } = 0.1;

    /// <summary>Tile overlap in pixels (<c>--overlap</c>).</summary>
    public int Overlap { get; init; }

    /// <summary>Class region threshold (<c>--threshold</c>).</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Unreadable tiles allowed, as a count; null = <see cref="MaxBadTileFraction"/>.</summary>
    public int? MaxBadTiles { get; init; }

    /// <summary>Unreadable tiles allowed, as a fraction of the plan's tiles.</summary>
    public double MaxBadTileFraction { get; init; } = 0.01;

    /// <summary>Checks the values; throws <see cref="JobFormatException"/> naming the field.</summary>
    public void Validate()
    {
        if (Batch < 1)
        {
            throw new JobFormatException($"job field 'parameters.batch' must be at least 1, not {Batch}");
        }
        if (TileSize is < 1)
        {
            throw new JobFormatException($"job field 'parameters.tileSize' must be positive, not {TileSize}");
        }
        if (Mpp is { } m && !(m > 0))
        {
            throw new JobFormatException($"job field 'parameters.mpp' must be a positive number, not {m}");
        }
        if (Mean is { Length: not 3 } || Std is { Length: not 3 })
        {
            throw new JobFormatException("job fields 'parameters.mean' and 'parameters.std' take three numbers R,G,B");
        }
        if (MinTissue is < 0 or > 1 || double.IsNaN(MinTissue))
        {
            throw new JobFormatException($"job field 'parameters.minTissue' must be within 0..1, not {MinTissue}");
        }
        if (Overlap < 0)
        {
            throw new JobFormatException($"job field 'parameters.overlap' must be 0 or more, not {Overlap}");
        }
        if (MaxBadTiles is < 0 || MaxBadTileFraction is < 0 or > 1 || double.IsNaN(MaxBadTileFraction))
        {
            throw new JobFormatException("job fields 'parameters.maxBadTiles' (0 or more) or 'parameters.maxBadTileFraction' (0..1) are out of range");
        }
        if (string.IsNullOrWhiteSpace(Device))
        {
            throw new JobFormatException("job field 'parameters.device' is empty");
        }
    }
}

/// <summary>A job message that cannot be run as it is (malformed JSON, a missing field, a newer version).</summary>
public sealed class JobFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobFormatException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public JobFormatException(string message, Exception inner) : base(message, inner)
    {
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SlideJob))]
internal sealed partial class JobJson : JsonSerializerContext;
