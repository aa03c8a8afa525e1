using System.Text.Json;
using System.Text.Json.Nodes;
using Histoscale.Archive.Api;

namespace Histoscale.Archive.Jobs;

/// <summary>A request field that is missing or wrong; the message names it.</summary>
internal sealed class JobRequestException(string message) : Exception(message);

/// <summary>
/// What <c>POST /jobs</c> asks for: slides, a model of the served repository (and version), and the <c>infer</c>
/// settings a user may change (the device and threads are the server's).
/// </summary>
internal sealed record JobRequest
{
    public const int MaxSlides = 1000;

    public required IReadOnlyList<string> SlideIds { get; init; }

    public required string Model { get; init; }

    public long? Version { get; init; }

    public int Batch { get; init; } = 32;

    public int? TileSize { get; init; }

    public double? Mpp { get; init; }

    public bool DetectTissue { get; init; } = true;

    public double MinTissue { get; init; } = 0.1;

    public int Overlap { get; init; }

    public double Threshold { get; init; } = 0.5;

    /// <summary>Reads and checks a body; throws <see cref="JobRequestException"/> naming the field.</summary>
    public static JobRequest Parse(JsonNode? root)
    {
        if (root is not JsonObject body)
        {
            throw new JobRequestException("the body must be a JSON object {\"slideIds\":[...],\"model\":\"NAME\"}");
        }
        if (body["slideIds"] is not JsonArray ids || ids.Count == 0)
        {
            throw new JobRequestException("slideIds: a non-empty array of slide ids is required");
        }
        if (ids.Count > MaxSlides)
        {
            throw new JobRequestException($"slideIds: at most {MaxSlides} slides per job, not {ids.Count}");
        }
        var slides = new List<string>();
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.String || string.IsNullOrEmpty(v.GetValue<string>()))
            {
                throw new JobRequestException($"slideIds[{i}]: must be a slide id (a string)");
            }
            var id = v.GetValue<string>();
            if (!slides.Contains(id, StringComparer.Ordinal))
            {
                slides.Add(id);
            }
        }
        if (body["model"] is not JsonValue m || m.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(m.GetValue<string>()))
        {
            throw new JobRequestException("model: the name of a model in the model repository is required (GET /api/v1/models lists them)");
        }
        var model = m.GetValue<string>();
        if (model.Contains('/', StringComparison.Ordinal) || model.Contains('\\', StringComparison.Ordinal) || model is "." or "..")
        {
            throw new JobRequestException($"model: '{ArchiveApi.Shorten(model)}' is a model name, not a path");
        }
        var p = body["parameters"] switch
        {
            null => new JsonObject(),
            JsonObject o => o,
            _ => throw new JobRequestException("parameters: must be an object"),
        };
        var request = new JobRequest
        {
            SlideIds = slides,
            Model = model,
            Version = Integer(body, "version", "version") is { } ver ? (ver >= 1 ? ver : throw new JobRequestException("version: must be 1 or more")) : null,
            Batch = (int)(Integer(p, "batch", "parameters.batch") ?? 32),
            TileSize = Integer(p, "tileSize", "parameters.tileSize") is { } t ? (int)t : null,
            Mpp = Number(p, "mpp", "parameters.mpp"),
            DetectTissue = Boolean(p, "detectTissue", "parameters.detectTissue") ?? true,
            MinTissue = Number(p, "minTissue", "parameters.minTissue") ?? 0.1,
            Overlap = (int)(Integer(p, "overlap", "parameters.overlap") ?? 0),
            Threshold = Number(p, "threshold", "parameters.threshold") ?? 0.5,
        };
        if (request.Batch is < 1 or > 4096)
        {
            throw new JobRequestException($"parameters.batch: must be 1..4096, not {request.Batch}");
        }
        if (request.TileSize is < 1 or > 8192)
        {
            throw new JobRequestException($"parameters.tileSize: must be 1..8192, not {request.TileSize}");
        }
        if (request.Mpp is { } mpp && !(mpp > 0))
        {
            throw new JobRequestException("parameters.mpp: must be a positive number of µm per pixel");
        }
        if (request.MinTissue is < 0 or > 1)
        {
            throw new JobRequestException("parameters.minTissue: must be within 0..1");
        }
        if (request.Overlap is < 0 or > 4096)
        {
            throw new JobRequestException("parameters.overlap: must be 0..4096 pixels");
        }
        return request;
    }

    /// <summary>The request as stored with the job (and echoed by <c>GET /jobs/{id}</c>).</summary>
    public JsonObject ToJson() => new()
    {
        ["slideIds"] = new JsonArray([.. SlideIds.Select(s => (JsonNode)s)]),
        ["model"] = Model,
        ["version"] = Version,
        ["parameters"] = new JsonObject
        {
            ["batch"] = Batch,
            ["tileSize"] = TileSize,
            ["mpp"] = Mpp,
            ["detectTissue"] = DetectTissue,
            ["minTissue"] = MinTissue,
            ["overlap"] = Overlap,
            ["threshold"] = Threshold,
        },
    };

    private static long? Integer(JsonObject o, string name, string field)
    {
        if (o[name] is null)
        {
            return null;
        }
        if (o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l))
        {
            return l;
        }
        if (o[name] is JsonValue d && d.GetValueKind() == JsonValueKind.Number && d.GetValue<double>() is var x && x == Math.Floor(x) && Math.Abs(x) < 1e15)
        {
            return (long)x;
        }
        throw new JobRequestException($"{field}: must be an integer, not {ArchiveApi.Shorten(o[name]!.ToJsonString())}");
    }

    private static double? Number(JsonObject o, string name, string field)
    {
        if (o[name] is null)
        {
            return null;
        }
        if (o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && double.IsFinite(v.GetValue<double>()))
        {
            return v.GetValue<double>();
        }
        throw new JobRequestException($"{field}: must be a number, not {ArchiveApi.Shorten(o[name]!.ToJsonString())}");
    }

    private static bool? Boolean(JsonObject o, string name, string field)
    {
        if (o[name] is null)
        {
            return null;
        }
        if (o[name] is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValue<bool>();
        }
        throw new JobRequestException($"{field}: must be true or false");
    }

    public override string ToString() => ToJson().ToJsonString();
}
