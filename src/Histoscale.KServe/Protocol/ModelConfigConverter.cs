using Histoscale.Inference.Tensors;
using Histoscale.Inference.Config;
using Histoscale.Inference;
using Inference = Histoscale.Inference;
using Proto = Histoscale.KServe.Protocol;

namespace Histoscale.KServe.Protocol;

/// <summary>
/// Converts between Histoscale's <see cref="Inference.Config.ModelConfig"/> (read from config.pbtxt) and the wire form of
/// Triton's ModelConfig message: the server reports its configs this way, the remote backends read a server's.
/// Enum numbers differ between the two (the wire's FORMAT_NHWC is 1), so every enum is mapped by name, not cast.
/// </summary>
internal static class ModelConfigConverter
{
    public static Proto.ModelConfig ToProto(Inference.Config.ModelConfig config)
    {
        var p = new Proto.ModelConfig
        {
            Name = config.Name,
            Platform = config.Platform.Length > 0 ? config.Platform : "onnxruntime_onnx",
            Backend = config.Backend.Length > 0 ? config.Backend : "onnxruntime",
            MaxBatchSize = config.MaxBatchSize,
            DefaultModelFilename = config.DefaultModelFilename,
            VersionPolicy = ToProto(config.VersionPolicy),
        };
        foreach (var i in config.Inputs)
        {
            var input = new ModelInput { Name = i.Name, DataType = ToProto(i.DataType), Format = ToProto(i.Format), Optional = i.Optional };
            input.Dims.Add(i.Dims);
            if (i.Reshape is { } r)
            {
                input.Reshape = new ModelTensorReshape { Shape = { r } };
            }
            p.Input.Add(input);
        }
        foreach (var o in config.Outputs)
        {
            var output = new ModelOutput { Name = o.Name, DataType = ToProto(o.DataType), LabelFilename = o.LabelFilename };
            output.Dims.Add(o.Dims);
            if (o.Reshape is { } r)
            {
                output.Reshape = new ModelTensorReshape { Shape = { r } };
            }
            p.Output.Add(output);
        }
        if (config.DynamicBatching is { } d)
        {
            var batching = new ModelDynamicBatching
            {
                MaxQueueDelayMicroseconds = (ulong)Math.Max(0, d.MaxQueueDelayMicroseconds),
                PreserveOrdering = d.PreserveOrdering,
            };
            batching.PreferredBatchSize.Add(d.PreferredBatchSizes);
            if (d.DefaultQueuePolicy is { } q)
            {
                batching.DefaultQueuePolicy = new ModelQueuePolicy
                {
                    TimeoutAction = q.TimeoutAction == "DELAY" ? ModelQueuePolicy.Types.TimeoutAction.Delay : ModelQueuePolicy.Types.TimeoutAction.Reject,
                    DefaultTimeoutMicroseconds = (ulong)Math.Max(0, q.DefaultTimeoutMicroseconds),
                    AllowTimeoutOverride = q.AllowTimeoutOverride,
                    MaxQueueSize = (uint)Math.Max(0, q.MaxQueueSize),
                };
            }
            p.DynamicBatching = batching;
        }
        var groupIndex = 0;
        foreach (var g in config.InstanceGroups)
        {
            // Triton names unnamed groups MODEL_NAME_INDEX when it completes a config.
            var group = new ModelInstanceGroup { Name = g.Name.Length > 0 ? g.Name : $"{config.Name}_{groupIndex}", Count = g.Count, Kind = ToProto(g.Kind) };
            group.Gpus.Add(g.Gpus);
            p.InstanceGroup.Add(group);
            groupIndex++;
        }
        foreach (var (key, value) in config.Parameters)
        {
            p.Parameters[key] = new ModelParameter { StringValue = value };
        }
        return p;
    }

    /// <summary>The parts of a server's config Histoscale models (name, batching, tensors, scheduling, parameters).</summary>
    public static Inference.Config.ModelConfig FromProto(Proto.ModelConfig p)
    {
        var config = new Inference.Config.ModelConfig
        {
            Name = p.Name,
            Platform = p.Platform,
            Backend = p.Backend,
            MaxBatchSize = p.MaxBatchSize,
            DefaultModelFilename = p.DefaultModelFilename,
        };
        if (p.VersionPolicy is { } vp)
        {
            config.VersionPolicy = vp.PolicyChoiceCase switch
            {
                ModelVersionPolicy.PolicyChoiceOneofCase.All => VersionPolicy.All,
                ModelVersionPolicy.PolicyChoiceOneofCase.Specific => VersionPolicy.Specific([.. vp.Specific.Versions]),
                ModelVersionPolicy.PolicyChoiceOneofCase.Latest => VersionPolicy.Latest((int)Math.Max(1, vp.Latest.NumVersions)),
                _ => VersionPolicy.Latest(1),
            };
        }
        foreach (var i in p.Input)
        {
            config.Inputs.Add(new ModelTensorConfig
            {
                Name = i.Name,
                DataType = FromProto(i.DataType),
                Format = i.Format switch
                {
                    ModelInput.Types.Format.Nchw => TensorFormat.Nchw,
                    ModelInput.Types.Format.Nhwc => TensorFormat.Nhwc,
                    _ => TensorFormat.None,
                },
                Dims = [.. i.Dims],
                Reshape = i.Reshape is { } r ? [.. r.Shape] : null,
                Optional = i.Optional,
            });
        }
        foreach (var o in p.Output)
        {
            config.Outputs.Add(new ModelTensorConfig
            {
                Name = o.Name,
                DataType = FromProto(o.DataType),
                Dims = [.. o.Dims],
                Reshape = o.Reshape is { } r ? [.. r.Shape] : null,
                LabelFilename = o.LabelFilename,
            });
        }
        if (p.DynamicBatching is { } d)
        {
            var batching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = (long)d.MaxQueueDelayMicroseconds, PreserveOrdering = d.PreserveOrdering };
            batching.PreferredBatchSizes.AddRange(d.PreferredBatchSize);
            if (d.DefaultQueuePolicy is { } q)
            {
                batching.DefaultQueuePolicy = new QueuePolicyConfig
                {
                    TimeoutAction = q.TimeoutAction == ModelQueuePolicy.Types.TimeoutAction.Delay ? "DELAY" : "REJECT",
                    DefaultTimeoutMicroseconds = (long)q.DefaultTimeoutMicroseconds,
                    AllowTimeoutOverride = q.AllowTimeoutOverride,
                    MaxQueueSize = (int)q.MaxQueueSize,
                };
            }
            config.DynamicBatching = batching;
        }
        foreach (var g in p.InstanceGroup)
        {
            var group = new InstanceGroupConfig
            {
                Name = g.Name,
                Count = Math.Max(1, g.Count),
                Kind = g.Kind switch
                {
                    ModelInstanceGroup.Types.Kind.Cpu => InstanceKind.Cpu,
                    ModelInstanceGroup.Types.Kind.Gpu => InstanceKind.Gpu,
                    ModelInstanceGroup.Types.Kind.Model => InstanceKind.Model,
                    _ => InstanceKind.Auto,
                },
            };
            group.Gpus.AddRange(g.Gpus);
            config.InstanceGroups.Add(group);
        }
        foreach (var (key, value) in p.Parameters)
        {
            config.Parameters[key] = value.StringValue;
        }
        return config;
    }

    public static Proto.DataType ToProto(TensorDataType type) => type switch
    {
        TensorDataType.Bool => Proto.DataType.TypeBool,
        TensorDataType.UInt8 => Proto.DataType.TypeUint8,
        TensorDataType.UInt16 => Proto.DataType.TypeUint16,
        TensorDataType.UInt32 => Proto.DataType.TypeUint32,
        TensorDataType.UInt64 => Proto.DataType.TypeUint64,
        TensorDataType.Int8 => Proto.DataType.TypeInt8,
        TensorDataType.Int16 => Proto.DataType.TypeInt16,
        TensorDataType.Int32 => Proto.DataType.TypeInt32,
        TensorDataType.Int64 => Proto.DataType.TypeInt64,
        TensorDataType.Fp16 => Proto.DataType.TypeFp16,
        TensorDataType.Fp32 => Proto.DataType.TypeFp32,
        TensorDataType.Fp64 => Proto.DataType.TypeFp64,
        TensorDataType.Bf16 => Proto.DataType.TypeBf16,
        TensorDataType.Bytes => Proto.DataType.TypeString,
        _ => Proto.DataType.TypeInvalid,
    };

    public static TensorDataType FromProto(Proto.DataType type) => type switch
    {
        Proto.DataType.TypeBool => TensorDataType.Bool,
        Proto.DataType.TypeUint8 => TensorDataType.UInt8,
        Proto.DataType.TypeUint16 => TensorDataType.UInt16,
        Proto.DataType.TypeUint32 => TensorDataType.UInt32,
        Proto.DataType.TypeUint64 => TensorDataType.UInt64,
        Proto.DataType.TypeInt8 => TensorDataType.Int8,
        Proto.DataType.TypeInt16 => TensorDataType.Int16,
        Proto.DataType.TypeInt32 => TensorDataType.Int32,
        Proto.DataType.TypeInt64 => TensorDataType.Int64,
        Proto.DataType.TypeFp16 => TensorDataType.Fp16,
        Proto.DataType.TypeFp32 => TensorDataType.Fp32,
        Proto.DataType.TypeFp64 => TensorDataType.Fp64,
        Proto.DataType.TypeBf16 => TensorDataType.Bf16,
        Proto.DataType.TypeString => TensorDataType.Bytes,
        _ => throw new ModelConfigException($"unsupported data_type {type}"),
    };

    private static ModelVersionPolicy ToProto(VersionPolicy policy) => policy.Kind switch
    {
        VersionPolicyKind.All => new ModelVersionPolicy { All = new ModelVersionPolicy.Types.All() },
        VersionPolicyKind.Specific => new ModelVersionPolicy { Specific = new ModelVersionPolicy.Types.Specific { Versions = { policy.Versions } } },
        _ => new ModelVersionPolicy { Latest = new ModelVersionPolicy.Types.Latest { NumVersions = (uint)Math.Max(1, policy.NumVersions) } },
    };

    private static ModelInput.Types.Format ToProto(TensorFormat format) => format switch
    {
        TensorFormat.Nchw => ModelInput.Types.Format.Nchw,
        TensorFormat.Nhwc => ModelInput.Types.Format.Nhwc,
        _ => ModelInput.Types.Format.None,
    };

    private static ModelInstanceGroup.Types.Kind ToProto(InstanceKind kind) => kind switch
    {
        InstanceKind.Cpu => ModelInstanceGroup.Types.Kind.Cpu,
        InstanceKind.Gpu => ModelInstanceGroup.Types.Kind.Gpu,
        InstanceKind.Model => ModelInstanceGroup.Types.Kind.Model,
        _ => ModelInstanceGroup.Types.Kind.Auto,
    };
}
