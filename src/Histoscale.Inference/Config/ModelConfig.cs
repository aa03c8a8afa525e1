using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Config;

/// <summary>
/// The subset of Triton's <c>ModelConfig</c> (model_config.proto) that Histoscale reads and writes; field names in
/// comments are the config.pbtxt names. Fields this class does not model are kept in <see cref="OtherFields"/> and
/// written back as they were, so a Triton config survives a read/write round trip.
/// </summary>
public sealed class ModelConfig
{
    /// <summary><c>name</c>; Triton requires it to equal the model's directory name.</summary>
    public string Name { get; set; } = "";

    /// <summary><c>platform</c>, e.g. <c>onnxruntime_onnx</c>.</summary>
    public string Platform { get; set; } = "";

    /// <summary><c>backend</c>, e.g. <c>onnxruntime</c>.</summary>
    public string Backend { get; set; } = "";

    /// <summary><c>max_batch_size</c>; 0 means the model has no batch dimension and dims are the full shape.</summary>
    public int MaxBatchSize { get; set; }

    public List<ModelTensorConfig> Inputs { get; } = [];

    public List<ModelTensorConfig> Outputs { get; } = [];

    /// <summary><c>dynamic_batching</c>; null when absent (each request then runs as its own batch).</summary>
    public DynamicBatchingConfig? DynamicBatching { get; set; }

    /// <summary><c>instance_group</c>.</summary>
    public List<InstanceGroupConfig> InstanceGroups { get; } = [];

    /// <summary><c>version_policy</c>; Triton's default serves the latest version only.</summary>
    public VersionPolicy VersionPolicy { get; set; } = VersionPolicy.Latest(1);

    /// <summary><c>default_model_filename</c>; empty means the platform default (<c>model.onnx</c>).</summary>
    public string DefaultModelFilename { get; set; } = "";

    /// <summary><c>parameters { key: "..." value { string_value: "..." } }</c>, in file order.</summary>
    public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);

    /// <summary>Fields not modelled here (optimization, model_warmup, ...), written back verbatim.</summary>
    internal List<PbtxtField> OtherFields { get; } = [];

    /// <summary>The file name of the model inside a version directory.</summary>
    public string ModelFileName => DefaultModelFilename.Length > 0 ? DefaultModelFilename : "model.onnx";

    /// <summary>Total number of execution instances the instance groups ask for (at least 1).</summary>
    public int InstanceCount
    {
        get
        {
            var total = 0;
            foreach (var g in InstanceGroups)
            {
                total += g.Count * Math.Max(1, g.Kind == InstanceKind.Gpu ? g.Gpus.Count : 1);
            }
            return Math.Max(1, total);
        }
    }
}

/// <summary>Tensor layout hint Triton carries in <c>format</c>.</summary>
public enum TensorFormat
{
    None,
    Nchw,
    Nhwc,
}

/// <summary>One <c>input</c> or <c>output</c> entry.</summary>
public sealed class ModelTensorConfig
{
    public string Name { get; set; } = "";

    /// <summary><c>data_type</c> (TYPE_FP32...).</summary>
    public TensorDataType DataType { get; set; } = TensorDataType.Fp32;

    /// <summary><c>format</c> (inputs only): FORMAT_NONE/NCHW/NHWC.</summary>
    public TensorFormat Format { get; set; }

    /// <summary><c>dims</c>, without the batch dimension when max_batch_size &gt; 0; -1 for a variable size.</summary>
    public long[] Dims { get; set; } = [];

    /// <summary><c>reshape { shape }</c>: the shape the model itself sees, when it differs from <see cref="Dims"/>.</summary>
    public long[]? Reshape { get; set; }

    /// <summary><c>optional</c> (inputs only).</summary>
    public bool Optional { get; set; }

    /// <summary><c>label_filename</c> (outputs only).</summary>
    public string LabelFilename { get; set; } = "";

    internal List<PbtxtField> OtherFields { get; } = [];
}

/// <summary><c>dynamic_batching</c>.</summary>
public sealed class DynamicBatchingConfig
{
    public List<int> PreferredBatchSizes { get; } = [];

    public long MaxQueueDelayMicroseconds { get; set; }

    public bool PreserveOrdering { get; set; }

    public QueuePolicyConfig? DefaultQueuePolicy { get; set; }

    internal List<PbtxtField> OtherFields { get; } = [];
}

/// <summary><c>default_queue_policy</c>.</summary>
public sealed class QueuePolicyConfig
{
    /// <summary><c>timeout_action</c>: REJECT or DELAY.</summary>
    public string TimeoutAction { get; set; } = "REJECT";

    public long DefaultTimeoutMicroseconds { get; set; }

    public bool AllowTimeoutOverride { get; set; }

    /// <summary><c>max_queue_size</c>: requests beyond it are rejected as unavailable; 0 means unbounded.</summary>
    public int MaxQueueSize { get; set; }
}

public enum InstanceKind
{
    Auto,
    Cpu,
    Gpu,
    Model,
}

/// <summary>One <c>instance_group</c> entry.</summary>
public sealed class InstanceGroupConfig
{
    public string Name { get; set; } = "";

    public int Count { get; set; } = 1;

    public InstanceKind Kind { get; set; }

    /// <summary><c>gpus</c>: device ids for KIND_GPU.</summary>
    public List<int> Gpus { get; } = [];

    internal List<PbtxtField> OtherFields { get; } = [];
}

public enum VersionPolicyKind
{
    Latest,
    All,
    Specific,
}

/// <summary><c>version_policy</c>: <c>latest { num_versions }</c>, <c>all { }</c> or <c>specific { versions }</c>.</summary>
public sealed record VersionPolicy(VersionPolicyKind Kind, int NumVersions, IReadOnlyList<long> Versions)
{
    public static VersionPolicy Latest(int numVersions) => new(VersionPolicyKind.Latest, numVersions, []);

    public static VersionPolicy All { get; } = new(VersionPolicyKind.All, 0, []);

    public static VersionPolicy Specific(params long[] versions) => new(VersionPolicyKind.Specific, 0, versions);

    /// <summary>Picks the versions to serve from those present on disk.</summary>
    public IReadOnlyList<long> Select(IEnumerable<long> available)
    {
        var sorted = available.Distinct().Order().ToList();
        return Kind switch
        {
            VersionPolicyKind.All => sorted,
            VersionPolicyKind.Specific => sorted.Where(Versions.Contains).ToList(),
            _ => sorted.Skip(Math.Max(0, sorted.Count - Math.Max(1, NumVersions))).ToList(),
        };
    }
}
