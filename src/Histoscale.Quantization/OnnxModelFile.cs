using Google.Protobuf;
using Histoscale.Inference;
using Histoscale.Quantization.Proto;

namespace Histoscale.Quantization;

/// <summary>
/// Reads and writes whole ONNX models. Initializers kept in external data files are read into the model at load
/// time, so a rewritten model is always one self-contained file.
/// </summary>
internal static class OnnxModelFile
{
    public static ModelProto Load(string path)
    {
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ModelConfigException($"not a valid ONNX model ({ex.Message})", file: path, inner: ex);
        }
        if (model.Graph is null)
        {
            throw new ModelConfigException("the ONNX model has no graph", file: path);
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                InlineExternalData(tensor, directory, path);
            }
        }
        return model;
    }

    public static void Save(ModelProto model, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        // Write next to the target and rename, so a failed write never leaves a truncated model behind.
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        {
            model.WriteTo(stream);
        }
        File.Move(temp, path, overwrite: true);
    }

    private static void InlineExternalData(TensorProto tensor, string directory, string modelPath)
    {
        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = long.Parse(entry.Value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "length": length = long.Parse(entry.Value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }
        if (string.IsNullOrEmpty(location))
        {
            throw new ModelConfigException($"initializer '{tensor.Name}' is marked external but names no data file", file: modelPath);
        }
        var dataPath = Path.GetFullPath(Path.Combine(directory, location));
        if (!File.Exists(dataPath))
        {
            throw new ModelConfigException($"initializer '{tensor.Name}' keeps its data in '{location}', which does not exist ({dataPath})", file: modelPath);
        }
        using var stream = File.OpenRead(dataPath);
        if (length < 0)
        {
            length = stream.Length - offset;
        }
        if (offset < 0 || offset + length > stream.Length)
        {
            throw new ModelConfigException($"initializer '{tensor.Name}': bytes {offset}..{offset + length} lie outside '{location}' ({stream.Length} bytes)", file: modelPath);
        }
        var bytes = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        tensor.RawData = ByteString.CopyFrom(bytes);
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
    }
}
