using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Config;

/// <summary>
/// Writes a <see cref="ModelConfig"/> as config.pbtxt text that Triton accepts (and that
/// <see cref="ModelConfigReader"/> reads back to an equal config). The server returns this for <c>.../config</c>.
/// </summary>
public static class ModelConfigWriter
{
    private static readonly HashSet<string> ListFields = ["dims", "shape", "input", "output", "instance_group", "preferred_batch_size", "gpus", "versions"];

    /// <summary>The config as config.pbtxt text.</summary>
    public static string Write(ModelConfig config) => PbtxtWriter.Write(ToPbtxt(config), ListFields);

    /// <summary>Writes the config as config.pbtxt text to <paramref name="path"/>, replacing any file there.</summary>
    public static void WriteFile(ModelConfig config, string path) => File.WriteAllText(path, Write(config));

    internal static PbtxtMessage ToPbtxt(ModelConfig config)
    {
        var m = new PbtxtMessage();
        if (config.Name.Length > 0)
        {
            m.Add("name", PbtxtScalar.Str(config.Name));
        }
        if (config.Platform.Length > 0)
        {
            m.Add("platform", PbtxtScalar.Str(config.Platform));
        }
        if (config.Backend.Length > 0)
        {
            m.Add("backend", PbtxtScalar.Str(config.Backend));
        }
        m.Add("max_batch_size", PbtxtScalar.Num(config.MaxBatchSize));
        if (config.DefaultModelFilename.Length > 0)
        {
            m.Add("default_model_filename", PbtxtScalar.Str(config.DefaultModelFilename));
        }
        if (config.VersionPolicy is not { Kind: VersionPolicyKind.Latest, NumVersions: 1 })
        {
            m.Add("version_policy", Message(VersionPolicyBody(config.VersionPolicy)));
        }
        foreach (var t in config.Inputs)
        {
            m.Add("input", Message(TensorBody(t, isInput: true)));
        }
        foreach (var t in config.Outputs)
        {
            m.Add("output", Message(TensorBody(t, isInput: false)));
        }
        if (config.DynamicBatching is { } d)
        {
            m.Add("dynamic_batching", Message(DynamicBatchingBody(d)));
        }
        foreach (var g in config.InstanceGroups)
        {
            m.Add("instance_group", Message(InstanceGroupBody(g)));
        }
        foreach (var (key, value) in config.Parameters)
        {
            var entry = new PbtxtMessage()
                .Add("key", PbtxtScalar.Str(key))
                .Add("value", Message(new PbtxtMessage().Add("string_value", PbtxtScalar.Str(value))));
            m.Add("parameters", Message(entry));
        }
        m.Fields.AddRange(config.OtherFields);
        return m;
    }

    private static PbtxtMessage TensorBody(ModelTensorConfig t, bool isInput)
    {
        var m = new PbtxtMessage()
            .Add("name", PbtxtScalar.Str(t.Name))
            .Add("data_type", PbtxtScalar.Ident(t.DataType.ToTritonName()));
        if (isInput && t.Format != TensorFormat.None)
        {
            m.Add("format", PbtxtScalar.Ident(t.Format == TensorFormat.Nchw ? "FORMAT_NCHW" : "FORMAT_NHWC"));
        }
        foreach (var d in t.Dims)
        {
            m.Add("dims", PbtxtScalar.Num(d));
        }
        if (t.Reshape is { } reshape)
        {
            var r = new PbtxtMessage();
            foreach (var d in reshape)
            {
                r.Add("shape", PbtxtScalar.Num(d));
            }
            m.Add("reshape", Message(r));
        }
        if (t.Optional)
        {
            m.Add("optional", PbtxtScalar.Bool(true));
        }
        if (t.LabelFilename.Length > 0)
        {
            m.Add("label_filename", PbtxtScalar.Str(t.LabelFilename));
        }
        m.Fields.AddRange(t.OtherFields);
        return m;
    }

    private static PbtxtMessage DynamicBatchingBody(DynamicBatchingConfig d)
    {
        var m = new PbtxtMessage();
        foreach (var p in d.PreferredBatchSizes)
        {
            m.Add("preferred_batch_size", PbtxtScalar.Num(p));
        }
        if (d.MaxQueueDelayMicroseconds > 0)
        {
            m.Add("max_queue_delay_microseconds", PbtxtScalar.Num(d.MaxQueueDelayMicroseconds));
        }
        if (d.PreserveOrdering)
        {
            m.Add("preserve_ordering", PbtxtScalar.Bool(true));
        }
        if (d.DefaultQueuePolicy is { } q)
        {
            var qm = new PbtxtMessage();
            if (q.TimeoutAction != "REJECT")
            {
                qm.Add("timeout_action", PbtxtScalar.Ident(q.TimeoutAction));
            }
            if (q.DefaultTimeoutMicroseconds > 0)
            {
                qm.Add("default_timeout_microseconds", PbtxtScalar.Num(q.DefaultTimeoutMicroseconds));
            }
            if (q.AllowTimeoutOverride)
            {
                qm.Add("allow_timeout_override", PbtxtScalar.Bool(true));
            }
            if (q.MaxQueueSize > 0)
            {
                qm.Add("max_queue_size", PbtxtScalar.Num(q.MaxQueueSize));
            }
            m.Add("default_queue_policy", Message(qm));
        }
        m.Fields.AddRange(d.OtherFields);
        return m;
    }

    private static PbtxtMessage InstanceGroupBody(InstanceGroupConfig g)
    {
        var m = new PbtxtMessage();
        if (g.Name.Length > 0)
        {
            m.Add("name", PbtxtScalar.Str(g.Name));
        }
        m.Add("count", PbtxtScalar.Num(g.Count));
        m.Add("kind", PbtxtScalar.Ident(g.Kind switch
        {
            InstanceKind.Cpu => "KIND_CPU",
            InstanceKind.Gpu => "KIND_GPU",
            InstanceKind.Model => "KIND_MODEL",
            _ => "KIND_AUTO",
        }));
        foreach (var gpu in g.Gpus)
        {
            m.Add("gpus", PbtxtScalar.Num(gpu));
        }
        m.Fields.AddRange(g.OtherFields);
        return m;
    }

    private static PbtxtMessage VersionPolicyBody(VersionPolicy p)
    {
        var body = new PbtxtMessage();
        switch (p.Kind)
        {
            case VersionPolicyKind.All:
                return new PbtxtMessage().Add("all", Message(body));
            case VersionPolicyKind.Specific:
                foreach (var v in p.Versions)
                {
                    body.Add("versions", PbtxtScalar.Num(v));
                }
                return new PbtxtMessage().Add("specific", Message(body));
            default:
                body.Add("num_versions", PbtxtScalar.Num(p.NumVersions));
                return new PbtxtMessage().Add("latest", Message(body));
        }
    }

    private static PbtxtMessageValue Message(PbtxtMessage m) => new(m);
}
