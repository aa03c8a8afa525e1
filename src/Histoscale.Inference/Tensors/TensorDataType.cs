namespace Histoscale.Inference.Tensors;

/// <summary>
/// Element types a tensor can hold. The set and the names follow the KServe v2 protocol
/// ("UINT8", "FP16", "FP32", "INT64"...), which is also what Triton reports in model metadata.
/// </summary>
public enum TensorDataType
{
    /// <summary>BOOL: one byte per element.</summary>
    Bool,
    /// <summary>UINT8.</summary>
    UInt8,
    /// <summary>UINT16.</summary>
    UInt16,
    /// <summary>UINT32.</summary>
    UInt32,
    /// <summary>UINT64.</summary>
    UInt64,
    /// <summary>INT8.</summary>
    Int8,
    /// <summary>INT16.</summary>
    Int16,
    /// <summary>INT32.</summary>
    Int32,
    /// <summary>INT64.</summary>
    Int64,
    /// <summary>FP16: IEEE half precision.</summary>
    Fp16,
    /// <summary>FP32: IEEE single precision.</summary>
    Fp32,
    /// <summary>FP64: IEEE double precision.</summary>
    Fp64,
    /// <summary>BF16: bfloat16 (the top 16 bits of an FP32).</summary>
    Bf16,

    /// <summary>Variable-length strings; described in configs but not executable by the in-process backends.</summary>
    Bytes,
}
