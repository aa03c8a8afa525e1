namespace Histoscale.Inference.Tensors;

/// <summary>
/// Element types a tensor can hold. The set and the names follow the KServe v2 protocol
/// ("UINT8", "FP16", "FP32", "INT64"...), which is also what Triton reports in model metadata.
/// </summary>
public enum TensorDataType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bf16,

    /// <summary>Variable-length strings; described in configs but not executable by the in-process backends.</summary>
    Bytes,
}
