namespace Histoscale.Inference;

/// <summary>
/// A model's description is wrong or does not match the model: malformed config.pbtxt, unknown field value,
/// missing model file, input shape/datatype that disagrees with the ONNX graph. Raised at load time, before any
/// data is processed. The message names the model, the file (with line when known), the field and the cause.
/// </summary>
public class ModelConfigException : Exception
{
    /// <summary>An error whose message is "file:line: model 'm': field: message", with the parts that are known.</summary>
    /// <param name="message">The cause, for a user to read.</param>
    /// <param name="model">The model's name, if known.</param>
    /// <param name="file">The file at fault (config.pbtxt, model.onnx...), if any.</param>
    /// <param name="line">1-based line in <paramref name="file"/>, if known.</param>
    /// <param name="field">Field path, e.g. <c>input[0].data_type</c> or <c>parameters[histoscale.mpp]</c>.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public ModelConfigException(string message, string? model = null, string? file = null, int? line = null, string? field = null, Exception? inner = null)
        : base(Compose(message, model, file, line, field), inner)
    {
        Model = model;
        File = file;
        Line = line;
        Field = field;
    }

    /// <summary>The model's name, or null when not known.</summary>
    public string? Model { get; }

    /// <summary>The file at fault, or null.</summary>
    public string? File { get; }

    /// <summary>1-based line in <see cref="File"/>, or null.</summary>
    public int? Line { get; }

    /// <summary>Field path in the config (e.g. <c>input[0].dims</c>), or null.</summary>
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
