using System.Text.Json;
using System.Text.Json.Serialization;
using Histoscale.Pipeline.Quality;
using Histoscale.Pipeline.Staining;

namespace Histoscale.Workers.Jobs;

/// <summary>
/// One slide to run a model over: the message a broker carries (UTF-8 JSON, <see cref="ToJson"/>). Versioned: a
/// worker refuses a message of a newer <see cref="Version"/> than it knows, naming both, rather than guess.
/// </summary>
public sealed record SlideJob
{
    /// <summary>
    /// The newest contract version this code reads. Version 2 added <see cref="JobParameters.Qc"/> and
    /// <see cref="JobParameters.StainTarget"/>; a job is written
    /// with the lowest version that carries all it uses, so a worker that would ignore a field refuses the job instead.
    /// </summary>
    public const int CurrentVersion = 2;

    private readonly int? _version;

    /// <summary>Contract version of the message: as read, or (for a job built here) the lowest that carries its parameters.</summary>
    public int Version
    {
        get => _version ?? Parameters.RequiredVersion;
        init => _version = value;
    }

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
    /// <exception cref="JobFormatException">Not JSON, not a job, or a missing or invalid field (named).</exception>
    /// <exception cref="JobTooNewException">A newer contract version than this worker understands (a newer worker can run it).</exception>
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
                throw new JobTooNewException(version, CurrentVersion);
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
        if (Version < Parameters.RequiredVersion)
        {
            throw new JobFormatException($"job field 'version' is {Version}, but its parameters need version {Parameters.RequiredVersion} (parameters.qc or parameters.stainTarget)");
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

    /// <summary>Quality control first, with these thresholds (<c>--qc</c> and the <c>--qc-*</c> flags); null = off. Needs job version 2.</summary>
    public JobQuality? Qc { get; init; }

    /// <summary>
    /// Stain normalisation (<c>--stain-normalize</c> with <c>--stain-target</c>): the target's parameters, as a
    /// target.json document (its <c>method</c> is the run's), resolved at submission so workers need neither the file
    /// nor the target slide; null = tiles as scanned. Needs job version 2.
    /// </summary>
    public JsonElement? StainTarget { get; init; }

    /// <summary>Where <see cref="StainTarget"/> came from (a target.json path or a slide), for run.json.</summary>
    public string? StainTargetSource { get; init; }

    /// <summary>The lowest job contract version that carries these parameters (2 with <see cref="Qc"/> or <see cref="StainTarget"/>, else 1).</summary>
    [JsonIgnore]
    public int RequiredVersion => Qc is null && StainTarget is null ? 1 : 2;

    /// <summary>The run's stain normalisation from <see cref="StainTarget"/>; null without one.</summary>
    /// <exception cref="JobFormatException">The target is not a valid stain target (named).</exception>
    public StainNormalization? ToStainNormalization()
    {
        if (StainTarget is not { } target)
        {
            return null;
        }
        try
        {
            return StainNormalization.FromTargetJson(target.GetRawText(), "job field 'parameters.stainTarget'", StainTargetSource);
        }
        catch (Histoscale.Pipeline.PipelineConfigException ex)
        {
            throw new JobFormatException(ex.Message, ex);
        }
    }

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
        _ = ToStainNormalization();
        if (Qc is { } qc)
        {
            try
            {
                qc.ToOptions().Validate();
            }
            catch (Histoscale.Pipeline.PipelineConfigException ex)
            {
                throw new JobFormatException($"job field 'parameters.qc': {ex.Message}", ex);
            }
        }
    }
}

/// <summary>
/// The quality-control thresholds a job carries (<c>infer --qc</c> and its <c>--qc-*</c> flags, the same names and
/// defaults as <see cref="QualityOptions"/>); the worker runs quality control with them before inference. The
/// bad-tile limit is the job's own (<see cref="JobParameters.MaxBadTiles"/>), as for <c>infer</c>.
/// </summary>
public sealed record JobQuality
{
    private static readonly QualityOptions Defaults = new();

    /// <summary>µm per pixel of the masks (<c>--mask-mpp</c>).</summary>
    public double MaskMpp { get; init; } = Defaults.MaskMpp;

    /// <summary><c>--qc-min-tissue</c>.</summary>
    public double MinTissueFraction { get; init; } = Defaults.MinTissueFraction;

    /// <summary><c>--qc-max-blur</c>.</summary>
    public double MaxBlurFraction { get; init; } = Defaults.MaxBlurFraction;

    /// <summary><c>--qc-max-pen</c>.</summary>
    public double MaxPenFraction { get; init; } = Defaults.MaxPenFraction;

    /// <summary><c>--qc-max-fold</c>.</summary>
    public double MaxFoldFraction { get; init; } = Defaults.MaxFoldFraction;

    /// <summary><c>--qc-max-dark</c>.</summary>
    public double MaxDarkFraction { get; init; } = Defaults.MaxDarkFraction;

    /// <summary><c>--qc-max-bright</c>.</summary>
    public double MaxBrightFraction { get; init; } = Defaults.MaxBrightFraction;

    /// <summary><c>--qc-blur-relative</c>.</summary>
    public double BlurRelative { get; init; } = Defaults.BlurRelative;

    /// <summary><c>--qc-fold-ratio</c>.</summary>
    public double FoldDensityRatio { get; init; } = Defaults.FoldDensityRatio;

    /// <summary><c>--qc-focus-samples</c>.</summary>
    public int MaxFocusSamples { get; init; } = Defaults.MaxFocusSamples;

    /// <summary>The thresholds of <paramref name="options"/> a job carries (those <c>infer</c> has flags for).</summary>
    public static JobQuality From(QualityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new()
        {
            MaskMpp = options.MaskMpp,
            MinTissueFraction = options.MinTissueFraction,
            MaxBlurFraction = options.MaxBlurFraction,
            MaxPenFraction = options.MaxPenFraction,
            MaxFoldFraction = options.MaxFoldFraction,
            MaxDarkFraction = options.MaxDarkFraction,
            MaxBrightFraction = options.MaxBrightFraction,
            BlurRelative = options.BlurRelative,
            FoldDensityRatio = options.FoldDensityRatio,
            MaxFocusSamples = options.MaxFocusSamples,
        };
    }

    /// <summary>The quality options a run uses (every other setting at its default).</summary>
    public QualityOptions ToOptions() => new()
    {
        MaskMpp = MaskMpp,
        MinTissueFraction = MinTissueFraction,
        MaxBlurFraction = MaxBlurFraction,
        MaxPenFraction = MaxPenFraction,
        MaxFoldFraction = MaxFoldFraction,
        MaxDarkFraction = MaxDarkFraction,
        MaxBrightFraction = MaxBrightFraction,
        BlurRelative = BlurRelative,
        FoldDensityRatio = FoldDensityRatio,
        MaxFocusSamples = MaxFocusSamples,
    };
}

/// <summary>
/// A job message of a newer contract version than this worker understands: not malformed — a newer worker runs it —
/// so it goes back to the queue rather than to the dead-letter queue (until its attempts are used up).
/// </summary>
public sealed class JobTooNewException : Exception
{
    /// <summary>Creates the exception for a message of <paramref name="version"/>, this worker knowing up to <paramref name="understood"/>.</summary>
    public JobTooNewException(int version, int understood)
        : base($"job version {version} is newer than this worker understands ({understood}); upgrade the workers")
    {
        Version = version;
        Understood = understood;
    }

    /// <summary>The message's contract version.</summary>
    public int Version { get; }

    /// <summary>The newest contract version this worker understands.</summary>
    public int Understood { get; }
}

/// <summary>A job message that cannot be run as it is (malformed JSON, a missing or invalid field).</summary>
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
