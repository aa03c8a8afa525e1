using System.Globalization;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Config;

/// <summary>
/// Reads Triton's config.pbtxt into a <see cref="ModelConfig"/>. Values of the wrong kind or unknown enum names
/// are errors naming the file, line and field path (e.g. <c>input[0].data_type</c>); fields this reader does not
/// model are kept for the writer.
/// </summary>
public sealed class ModelConfigReader
{
    private readonly string _file;

    private ModelConfigReader(string file) => _file = file;

    /// <summary>Reads and parses the config.pbtxt at <paramref name="path"/>.</summary>
    /// <exception cref="ModelConfigException">The file cannot be read, or its text is malformed or holds invalid values.</exception>
    public static ModelConfig ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelConfigException($"cannot read config: {ex.Message}", file: path, inner: ex);
        }
        return Parse(text, path);
    }

    /// <summary>Parses config.pbtxt text.</summary>
    /// <param name="text">The protobuf text.</param>
    /// <param name="file">Used only in error messages.</param>
    public static ModelConfig Parse(string text, string file = "config.pbtxt") =>
        new ModelConfigReader(file).Read(PbtxtParser.Parse(text, file));

    private ModelConfig Read(PbtxtMessage root)
    {
        var config = new ModelConfig();
        int inputs = 0, outputs = 0, groups = 0;
        foreach (var f in root.Fields)
        {
            switch (f.Name)
            {
                case "name": config.Name = Str(f, "name"); break;
                case "platform": config.Platform = Str(f, "platform"); break;
                case "backend": config.Backend = Str(f, "backend"); break;
                case "max_batch_size": config.MaxBatchSize = (int)Int(f, "max_batch_size", min: 0); break;
                case "default_model_filename": config.DefaultModelFilename = Str(f, "default_model_filename"); break;
                case "input": config.Inputs.Add(ReadTensor(Msg(f, "input"), $"input[{inputs++}]")); break;
                case "output": config.Outputs.Add(ReadTensor(Msg(f, "output"), $"output[{outputs++}]")); break;
                case "dynamic_batching": config.DynamicBatching = ReadDynamicBatching(Msg(f, "dynamic_batching")); break;
                case "instance_group": config.InstanceGroups.Add(ReadInstanceGroup(Msg(f, "instance_group"), $"instance_group[{groups++}]")); break;
                case "version_policy": config.VersionPolicy = ReadVersionPolicy(Msg(f, "version_policy")); break;
                case "parameters": ReadParameter(config.Parameters, f); break;
                default: config.OtherFields.Add(f); break;
            }
        }
        return config;
    }

    private ModelTensorConfig ReadTensor(PbtxtMessage m, string path)
    {
        var t = new ModelTensorConfig();
        var dims = new List<long>();
        var hasDataType = false;
        foreach (var f in m.Fields)
        {
            switch (f.Name)
            {
                case "name": t.Name = Str(f, path + ".name"); break;
                case "data_type":
                    {
                        var name = Ident(f, path + ".data_type");
                        if (!DataTypes.TryParseTritonName(name, out var dt))
                        {
                            throw Error(f, path + ".data_type", $"unknown data type '{name}' (expected TYPE_FP32, TYPE_FP16, TYPE_UINT8, TYPE_INT64, ...)");
                        }
                        t.DataType = dt;
                        hasDataType = true;
                        break;
                    }
                case "format":
                    t.Format = Ident(f, path + ".format") switch
                    {
                        "FORMAT_NONE" => TensorFormat.None,
                        "FORMAT_NCHW" => TensorFormat.Nchw,
                        "FORMAT_NHWC" => TensorFormat.Nhwc,
                        var other => throw Error(f, path + ".format", $"unknown format '{other}' (expected FORMAT_NONE, FORMAT_NCHW or FORMAT_NHWC)"),
                    };
                    break;
                case "dims": dims.Add(Int(f, path + ".dims", min: -1)); break;
                case "reshape":
                    t.Reshape = Msg(f, path + ".reshape").All("shape").Select(s => Int(s, path + ".reshape.shape", min: -1)).ToArray();
                    break;
                case "optional": t.Optional = Bool(f, path + ".optional"); break;
                case "label_filename": t.LabelFilename = Str(f, path + ".label_filename"); break;
                default: t.OtherFields.Add(f); break;
            }
        }
        if (t.Name.Length == 0)
        {
            throw new ModelConfigException("missing 'name'", file: _file, field: path);
        }
        if (!hasDataType)
        {
            throw new ModelConfigException($"'{t.Name}' has no data_type", file: _file, field: path + ".data_type");
        }
        t.Dims = [.. dims];
        return t;
    }

    private DynamicBatchingConfig ReadDynamicBatching(PbtxtMessage m)
    {
        var d = new DynamicBatchingConfig();
        foreach (var f in m.Fields)
        {
            switch (f.Name)
            {
                case "preferred_batch_size": d.PreferredBatchSizes.Add((int)Int(f, "dynamic_batching.preferred_batch_size", min: 1)); break;
                case "max_queue_delay_microseconds": d.MaxQueueDelayMicroseconds = Int(f, "dynamic_batching.max_queue_delay_microseconds", min: 0); break;
                case "preserve_ordering": d.PreserveOrdering = Bool(f, "dynamic_batching.preserve_ordering"); break;
                case "default_queue_policy":
                    {
                        var q = new QueuePolicyConfig();
                        foreach (var g in Msg(f, "dynamic_batching.default_queue_policy").Fields)
                        {
                            const string P = "dynamic_batching.default_queue_policy.";
                            switch (g.Name)
                            {
                                case "timeout_action": q.TimeoutAction = Ident(g, P + "timeout_action"); break;
                                case "default_timeout_microseconds": q.DefaultTimeoutMicroseconds = Int(g, P + "default_timeout_microseconds", min: 0); break;
                                case "allow_timeout_override": q.AllowTimeoutOverride = Bool(g, P + "allow_timeout_override"); break;
                                case "max_queue_size": q.MaxQueueSize = (int)Int(g, P + "max_queue_size", min: 0); break;
                                default: throw Error(g, P + g.Name, "unknown field");
                            }
                        }
                        d.DefaultQueuePolicy = q;
                        break;
                    }
                default: d.OtherFields.Add(f); break;
            }
        }
        return d;
    }

    private InstanceGroupConfig ReadInstanceGroup(PbtxtMessage m, string path)
    {
        var g = new InstanceGroupConfig();
        foreach (var f in m.Fields)
        {
            switch (f.Name)
            {
                case "name": g.Name = Str(f, path + ".name"); break;
                case "count": g.Count = (int)Int(f, path + ".count", min: 1); break;
                case "kind":
                    g.Kind = Ident(f, path + ".kind") switch
                    {
                        "KIND_AUTO" => InstanceKind.Auto,
                        "KIND_CPU" => InstanceKind.Cpu,
                        "KIND_GPU" => InstanceKind.Gpu,
                        "KIND_MODEL" => InstanceKind.Model,
                        var other => throw Error(f, path + ".kind", $"unknown kind '{other}' (expected KIND_AUTO, KIND_CPU, KIND_GPU or KIND_MODEL)"),
                    };
                    break;
                case "gpus": g.Gpus.Add((int)Int(f, path + ".gpus", min: 0)); break;
                default: g.OtherFields.Add(f); break;
            }
        }
        return g;
    }

    private VersionPolicy ReadVersionPolicy(PbtxtMessage m)
    {
        if (m.Fields.Count != 1)
        {
            throw new ModelConfigException("expected exactly one of latest, all or specific", file: _file, field: "version_policy");
        }
        var f = m.Fields[0];
        var body = Msg(f, "version_policy." + f.Name);
        return f.Name switch
        {
            "latest" => VersionPolicy.Latest((int)body.All("num_versions").Select(n => Int(n, "version_policy.latest.num_versions", min: 1)).DefaultIfEmpty(1).Last()),
            "all" => VersionPolicy.All,
            "specific" => VersionPolicy.Specific([.. body.All("versions").Select(v => Int(v, "version_policy.specific.versions", min: 0))]),
            _ => throw Error(f, "version_policy", $"unknown policy '{f.Name}' (expected latest, all or specific)"),
        };
    }

    private void ReadParameter(Dictionary<string, string> parameters, PbtxtField f)
    {
        // Triton: map<string, ModelParameter> parameters, written as { key: "k" value { string_value: "v" } }.
        var entry = Msg(f, "parameters");
        var key = entry.All("key").Select(k => Str(k, "parameters.key")).LastOrDefault()
            ?? throw Error(f, "parameters", "entry has no key");
        var value = entry.All("value").Select(v => Msg(v, $"parameters[{key}].value")).LastOrDefault();
        var text = value?.All("string_value").Select(s => Str(s, $"parameters[{key}].value.string_value")).LastOrDefault() ?? "";
        parameters[key] = text;
    }

    private string Str(PbtxtField f, string path) => f.Value is PbtxtScalar { Kind: PbtxtScalarKind.String } s
        ? s.Text
        : throw Error(f, path, $"expected a quoted string, got {Show(f.Value)}");

    private string Ident(PbtxtField f, string path) => f.Value is PbtxtScalar { Kind: PbtxtScalarKind.Identifier } s
        ? s.Text
        : throw Error(f, path, $"expected an enum name, got {Show(f.Value)}");

    private long Int(PbtxtField f, string path, long min)
    {
        if (f.Value is PbtxtScalar { Kind: PbtxtScalarKind.Number } s
            && long.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
        {
            return v >= min ? v : throw Error(f, path, $"value {v} is below the minimum {min}");
        }
        throw Error(f, path, $"expected an integer, got {Show(f.Value)}");
    }

    private bool Bool(PbtxtField f, string path) => f.Value switch
    {
        PbtxtScalar { Kind: PbtxtScalarKind.Identifier, Text: "true" or "True" or "t" } => true,
        PbtxtScalar { Kind: PbtxtScalarKind.Identifier, Text: "false" or "False" or "f" } => false,
        PbtxtScalar { Kind: PbtxtScalarKind.Number, Text: "1" } => true,
        PbtxtScalar { Kind: PbtxtScalarKind.Number, Text: "0" } => false,
        _ => throw Error(f, path, $"expected true or false, got {Show(f.Value)}"),
    };

    private PbtxtMessage Msg(PbtxtField f, string path) => f.Value is PbtxtMessageValue m
        ? m.Message
        : throw Error(f, path, $"expected a {{ ... }} block, got {Show(f.Value)}");

    private static string Show(PbtxtValue v) => v switch
    {
        PbtxtScalar { Kind: PbtxtScalarKind.String } s => $"\"{s.Text}\"",
        PbtxtScalar s => s.Text,
        _ => "a { ... } block",
    };

    private ModelConfigException Error(PbtxtField f, string path, string message) =>
        new(message, file: _file, line: f.Line == 0 ? null : f.Line, field: path);
}
