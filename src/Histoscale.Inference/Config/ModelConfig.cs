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

    /// <summary><c>input</c> entries, in file order.</summary>
    public List<ModelTensorConfig> Inputs { get; } = [];

    /// <summary><c>output</c> entries, in file order.</summary>
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
    /// <summary><c>FORMAT_NONE</c>: no layout stated.</summary>
    None,
    /// <summary><c>FORMAT_NCHW</c>: channels first (batch, channel, height, width).</summary>
    Nchw,
    /// <summary><c>FORMAT_NHWC</c>: channels last (batch, height, width, channel).</summary>
    Nhwc,
}

/// <summary>One <c>input</c> or <c>output</c> entry.</summary>
public sealed class ModelTensorConfig
{
    /// <summary><c>name</c>: the tensor's name in the model graph.</summary>
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
    /// <summary><c>preferred_batch_size</c>: batch sizes the batcher dispatches as soon as it can fill one.</summary>
    public List<int> PreferredBatchSizes { get; } = [];

    /// <summary><c>max_queue_delay_microseconds</c>: longest a request waits for a batch to fill before a partial batch runs.</summary>
    public long MaxQueueDelayMicroseconds { get; set; }

    /// <summary><c>preserve_ordering</c>: responses are returned in request order.</summary>
    public bool PreserveOrdering { get; set; }

    /// <summary><c>default_queue_policy</c>; null when absent.</summary>
    public QueuePolicyConfig? DefaultQueuePolicy { get; set; }

    internal List<PbtxtField> OtherFields { get; } = [];
}

/// <summary><c>default_queue_policy</c>.</summary>
public sealed class QueuePolicyConfig
{
    /// <summary><c>timeout_action</c>: REJECT or DELAY.</summary>
    public string TimeoutAction { get; set; } = "REJECT";

    /// <summary><c>default_timeout_microseconds</c>: how long a request may wait in the queue; 0 means no timeout.</summary>
    public long DefaultTimeoutMicroseconds { get; set; }

    /// <summary><c>allow_timeout_override</c>: whether a request may set its own queue timeout.</summary>
    public bool AllowTimeoutOverride { get; set; }

    /// <summary><c>max_queue_size</c>: requests beyond it are rejected as unavailable; 0 means unbounded.</summary>
    public int MaxQueueSize { get; set; }
}

/// <summary><c>instance_group.kind</c>: where a group's execution instances run.</summary>
public enum InstanceKind
{
    /// <summary><c>KIND_AUTO</c>: GPU when available, else CPU.</summary>
    Auto,
    /// <summary><c>KIND_CPU</c>.</summary>
    Cpu,
    /// <summary><c>KIND_GPU</c>: on the devices in <see cref="InstanceGroupConfig.Gpus"/>.</summary>
    Gpu,
    /// <summary><c>KIND_MODEL</c>: placement left to the model/backend.</summary>
    Model,
}

/// <summary>One <c>instance_group</c> entry.</summary>
public sealed class InstanceGroupConfig
{
    /// <summary><c>name</c> of the group (optional in Triton).</summary>
    public string Name { get; set; } = "";

    /// <summary><c>count</c>: instances per device (per listed GPU for KIND_GPU).</summary>
    public int Count { get; set; } = 1;

    /// <summary><c>kind</c>.</summary>
    public InstanceKind Kind { get; set; }

    /// <summary><c>gpus</c>: device ids for KIND_GPU.</summary>
    public List<int> Gpus { get; } = [];

    internal List<PbtxtField> OtherFields { get; } = [];
}

/// <summary>Which of the three <c>version_policy</c> forms applies.</summary>
public enum VersionPolicyKind
{
    /// <summary><c>latest { num_versions }</c>: the highest N versions.</summary>
    Latest,
    /// <summary><c>all { }</c>: every version on disk.</summary>
    All,
    /// <summary><c>specific { versions }</c>: the listed versions that exist.</summary>
    Specific,
}

/// <summary><c>version_policy</c>: <c>latest { num_versions }</c>, <c>all { }</c> or <c>specific { versions }</c>.</summary>
/// <param name="Kind">Which form of the policy.</param>
/// <param name="NumVersions">For <see cref="VersionPolicyKind.Latest"/>: how many of the highest versions; otherwise 0.</param>
/// <param name="Versions">For <see cref="VersionPolicyKind.Specific"/>: the versions to serve; otherwise empty.</param>
public sealed record VersionPolicy(VersionPolicyKind Kind, int NumVersions, IReadOnlyList<long> Versions)
{
    /// <summary>Serve the <paramref name="numVersions"/> highest versions.</summary>
    public static VersionPolicy Latest(int numVersions) => new(VersionPolicyKind.Latest, numVersions, []);

    /// <summary>Serve every version present.</summary>
    public static VersionPolicy All { get; } = new(VersionPolicyKind.All, 0, []);

    /// <summary>Serve exactly <paramref name="versions"/> (those present on disk).</summary>
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
