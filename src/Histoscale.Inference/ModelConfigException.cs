namespace Histoscale.Inference;

/// <summary>
/// A model's description is wrong or does not match the model: malformed config.pbtxt, unknown field value,
/// missing model file, input shape/datatype that disagrees with the ONNX graph. Raised at load time, before any
/// data is processed. The message names the model, the file (with line when known), the field and the cause.
/// </summary>
public class ModelConfigException : Exception
{
    public ModelConfigException(string message, string? model = null, string? file = null, int? line = null, string? field = null, Exception? inner = null)
        : base(Compose(message, model, file, line, field), inner)
    {
        Model = model;
        File = file;
        Line = line;
        Field = field;
    }

    public string? Model { get; }

    public string? File { get; }

    public int? Line { get; }

    public string? Field { get; }

    private static string Compose(string message, string? model, string? file, int? line, string? field)
    {
        var where = file is null ? "" : line is null ? $"{file}: " : $"{file}:{line}: ";
        var who = model is null ? "" : $"model '{model}': ";
        var what = field is null ? "" : $"{field}: ";
        return where + who + what + message;
    }
}

/// <summary>A request does not fit the model (unknown input, wrong datatype or shape, batch too large). Triton: 400 / INVALID_ARGUMENT.</summary>
public sealed class InferenceRequestException(string message) : Exception(message);

/// <summary>The model cannot take the request now (queue full, shutting down). Triton: 503 / UNAVAILABLE; clients may retry.</summary>
public sealed class InferenceUnavailableException(string message) : Exception(message);

/// <summary>The requested device/execution provider is not usable in this build or on this machine.</summary>
public sealed class DeviceConfigException(string message, Exception? inner = null) : Exception(message, inner);
