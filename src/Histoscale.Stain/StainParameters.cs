using System.Text;
using System.Text.Json;

namespace Histoscale.Stain;

/// <summary>
/// A slide's stain, as one method describes it: for Macenko and Vahadane two unit optical-density vectors
/// (hematoxylin first) and each stain's maximum concentration; for Reinhard the mean and standard deviation of each
/// lαβ channel. What <c>stain fit</c> writes as target.json, and what run.json records per slide.
/// </summary>
public sealed class StainParameters
{
    private StainParameters(StainMethod method, double[][]? matrix, double[]? maxConcentrations, double[]? labMean, double[]? labStd)
    {
        Method = method;
        _matrix = matrix;
        _max = maxConcentrations;
        _mean = labMean;
        _std = labStd;
    }

    private readonly double[][]? _matrix;
    private readonly double[]? _max;
    private readonly double[]? _mean;
    private readonly double[]? _std;

    /// <summary>The method these parameters belong to.</summary>
    public StainMethod Method { get; }

    /// <summary>Macenko/Vahadane: two unit OD vectors [r, g, b], hematoxylin then eosin; null for Reinhard.</summary>
    public IReadOnlyList<IReadOnlyList<double>>? StainMatrix => _matrix;

    /// <summary>Macenko/Vahadane: [hematoxylin, eosin] maximum (robust percentile) concentrations; null for Reinhard.</summary>
    public IReadOnlyList<double>? MaxConcentrations => _max;

    /// <summary>Reinhard: mean of l, α, β over tissue (RGB scaled to [0, 1], log10 LMS); null otherwise.</summary>
    public IReadOnlyList<double>? LabMean => _mean;

    /// <summary>Reinhard: standard deviation of l, α, β over tissue; null otherwise.</summary>
    public IReadOnlyList<double>? LabStd => _std;

    /// <summary>Macenko or Vahadane parameters.</summary>
    /// <exception cref="StainException">Not two finite 3-vectors with a positive norm, or maxima that are not positive.</exception>
    public static StainParameters ForStainVectors(StainMethod method, IReadOnlyList<double> hematoxylin, IReadOnlyList<double> eosin, double maxHematoxylin, double maxEosin)
    {
        if (method == StainMethod.Reinhard)
        {
            throw new StainException("reinhard is described by lαβ statistics, not stain vectors");
        }
        var h = Unit(hematoxylin, "hematoxylin vector");
        var e = Unit(eosin, "eosin vector");
        if (!(maxHematoxylin > 0 && double.IsFinite(maxHematoxylin) && maxEosin > 0 && double.IsFinite(maxEosin)))
        {
            throw new StainException($"maxConcentrations [{maxHematoxylin}, {maxEosin}] must be positive numbers");
        }
        return new StainParameters(method, [h, e], [maxHematoxylin, maxEosin], null, null);
    }

    /// <summary>Reinhard parameters.</summary>
    /// <exception cref="StainException">Not three finite means and three positive standard deviations.</exception>
    public static StainParameters ForLab(IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        if (mean.Count != 3 || std.Count != 3 || mean.Any(m => !double.IsFinite(m)) || std.Any(s => !(s > 0 && double.IsFinite(s))))
        {
            throw new StainException("labMean must be 3 numbers and labStd 3 positive numbers");
        }
        return new StainParameters(StainMethod.Reinhard, null, null, [.. mean], [.. std]);
    }

    private static double[] Unit(IReadOnlyList<double> v, string what)
    {
        if (v.Count != 3 || v.Any(x => !double.IsFinite(x)))
        {
            throw new StainException($"{what} must be 3 numbers [r, g, b]");
        }
        var norm = Math.Sqrt((v[0] * v[0]) + (v[1] * v[1]) + (v[2] * v[2]));
        if (!(norm > 1e-9))
        {
            throw new StainException($"{what} is zero");
        }
        // A vector already of unit length (a target read back) is kept bit for bit.
        return Math.Abs(norm - 1) < 1e-12 ? [v[0], v[1], v[2]] : [v[0] / norm, v[1] / norm, v[2] / norm];
    }

    /// <summary>
    /// The JSON document: <c>{"method","stainMatrix":[[r,g,b],[r,g,b]],"maxConcentrations":[h,e]}</c> or
    /// <c>{"method","labMean":[l,a,b],"labStd":[l,a,b]}</c>. Numbers round-trip exactly.
    /// </summary>
    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            Write(w);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes this object with <paramref name="writer"/> (run.json embeds it).</summary>
    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("method", Method.Name());
        if (_matrix is not null)
        {
            writer.WriteStartArray("stainMatrix");
            foreach (var row in _matrix)
            {
                WriteArray(writer, null, row);
            }
            writer.WriteEndArray();
            WriteArray(writer, "maxConcentrations", _max!);
        }
        else
        {
            WriteArray(writer, "labMean", _mean!);
            WriteArray(writer, "labStd", _std!);
        }
        writer.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter writer, string? name, double[] values)
    {
        if (name is null)
        {
            writer.WriteStartArray();
        }
        else
        {
            writer.WriteStartArray(name);
        }
        foreach (var v in values)
        {
            writer.WriteNumberValue(v);
        }
        writer.WriteEndArray();
    }

    /// <summary>Reads a target file written by <see cref="ToJson"/> (or by hand).</summary>
    /// <exception cref="StainException">The file cannot be read or is not a valid target; the message names the file and field.</exception>
    public static StainParameters Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StainException($"{path}: cannot read stain target ({ex.Message})", ex);
        }
        return Parse(text, path);
    }

    /// <summary>Parses a target document; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="StainException">Not JSON, an unknown method, or a missing or malformed field (named).</exception>
    public static StainParameters Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new StainException($"{source}: not valid JSON ({ex.Message})", ex);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new StainException($"{source}: a stain target is a JSON object with \"method\"");
            }
            if (!root.TryGetProperty("method", out var m) || m.ValueKind != JsonValueKind.String)
            {
                throw new StainException($"{source}: field \"method\" (macenko, reinhard or vahadane) is missing");
            }
            StainMethod method;
            try
            {
                method = StainMethods.Parse(m.GetString());
            }
            catch (StainException ex)
            {
                throw new StainException($"{source}: field \"method\": {ex.Message}");
            }
            try
            {
                if (method == StainMethod.Reinhard)
                {
                    return ForLab(Numbers(root, "labMean", 3, source), Numbers(root, "labStd", 3, source));
                }
                if (!root.TryGetProperty("stainMatrix", out var matrix) || matrix.ValueKind != JsonValueKind.Array || matrix.GetArrayLength() != 2)
                {
                    throw new StainException($"{source}: field \"stainMatrix\" must be [[r,g,b],[r,g,b]] (hematoxylin, eosin)");
                }
                var h = Numbers(matrix[0], "stainMatrix[0]", 3, source);
                var e = Numbers(matrix[1], "stainMatrix[1]", 3, source);
                var max = Numbers(root, "maxConcentrations", 2, source);
                return ForStainVectors(method, h, e, max[0], max[1]);
            }
            catch (StainException ex) when (!ex.Message.StartsWith(source, StringComparison.Ordinal))
            {
                throw new StainException($"{source}: {ex.Message}");
            }
        }
    }

    private static double[] Numbers(JsonElement parent, string field, int count, string source)
    {
        var array = parent;
        if (parent.ValueKind == JsonValueKind.Object && !parent.TryGetProperty(field, out array))
        {
            throw new StainException($"{source}: field \"{field}\" is missing");
        }
        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() != count
            || array.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
        {
            throw new StainException($"{source}: field \"{field}\" must be an array of {count} numbers");
        }
        return [.. array.EnumerateArray().Select(v => v.GetDouble())];
    }

    /// <summary>The JSON text, compact, with round-trip numbers: a stable key for settings hashes.</summary>
    public override string ToString() => ToJson(indented: false);

}
