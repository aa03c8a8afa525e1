namespace Histoscale.Quantization;

/// <summary>How the quantized graph is written.</summary>
public enum QuantizationFormat
{
    /// <summary>QuantizeLinear/DequantizeLinear around standard ops; ONNX Runtime fuses them into integer kernels.</summary>
    Qdq,

    /// <summary>Integer operators (QLinearConv, QLinearAdd, ...) written out directly.</summary>
    QOperator,
}

/// <summary>How a model is quantized: graph format, calibration method, and which operators.</summary>
public sealed record QuantizationOptions
{
    /// <summary>QDQ (default) or QOperator graph.</summary>
    public QuantizationFormat Format { get; init; } = QuantizationFormat.Qdq;

    /// <summary>How activation ranges are chosen from calibration data; min/max by default.</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>For <see cref="CalibrationMethod.Percentile"/>: the share of values (from each tail) kept inside the range.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>7-bit weights, for CPUs without VNNI whose u8×s8 multiply-add saturates at int16.</summary>
    public bool ReduceRange { get; init; }

    /// <summary>Which op families to quantize; null = all supported.</summary>
    public IReadOnlySet<QuantizedOp>? Ops { get; init; }
}

/// <summary>What the rewrite did: quantized node counts per op type and the op types of the nodes left FP32.</summary>
/// <param name="Quantized">Quantized nodes per op type.</param>
/// <param name="KeptFloat">Nodes left FP32 per op type.</param>
/// <param name="FoldedRelus">Relu nodes folded into the preceding quantized op's output range.</param>
public sealed record QuantizationSummary(IReadOnlyDictionary<string, int> Quantized, IReadOnlyDictionary<string, int> KeptFloat, int FoldedRelus)
{
    /// <summary>Nodes quantized, all op types together.</summary>
    public int QuantizedCount => Quantized.Values.Sum();

    /// <summary>Nodes left in FP32, all op types together.</summary>
    public int KeptFloatCount => KeptFloat.Values.Sum();
}
