using Histoscale.Synthesis.Models;
using Histoscale.Quantization;

namespace Histoscale.Inference.Tests.Quantization;

public class ModelQuantizerTests
{
    [Theory]
    [InlineData(QuantizationFormat.Qdq, false)]
    [InlineData(QuantizationFormat.Qdq, true)]
    [InlineData(QuantizationFormat.QOperator, false)]
    [InlineData(QuantizationFormat.QOperator, true)]
    public async Task QuantizedCnnFollowsFp32(QuantizationFormat format, bool hardSwish)
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, DemoModels.SmallCnn(QuantizationFixture.Tile, hardSwish: hardSwish));
        var int8 = Path.Combine(dir.Path, "int8.onnx");
        var summary = await QuantizationFixture.QuantizeAsync(fp32, int8, new QuantizationOptions { Format = format });

        var convs = hardSwish ? 4 : 3;
        Assert.Equal(convs, summary.Quantized["Conv"]);
        Assert.Equal(1, summary.Quantized["Gemm"]);
        Assert.Equal(1, summary.Quantized["Add"]);
        Assert.Equal(1, summary.Quantized["MaxPool"]);
        Assert.Equal(1, summary.Quantized["GlobalAveragePool"]);
        Assert.Equal(3, summary.FoldedRelus);
        Assert.Equal(hardSwish ? 1 : 0, summary.KeptFloat.GetValueOrDefault("HardSigmoid"));

        var agreement = await QuantizationFixture.CompareAsync(fp32, int8);
        // INT8 lands within ~1% of FP32 here; a scale off by 2× anywhere moves outputs by tens of percent.
        Assert.True(agreement.MeanCosine > 0.995, $"cosine {agreement.MeanCosine}");
        Assert.True(agreement.MeanAbsError < 0.05 * agreement.MeanAbsReference, $"mean |error| {agreement.MeanAbsError} vs mean |FP32| {agreement.MeanAbsReference}");

        var ops = QuantizationFixture.OpCounts(QuantizationFixture.Load(int8));
        Assert.False(ops.ContainsKey("Relu")); // folded into uint8 outputs with zero point 0
        if (format == QuantizationFormat.Qdq)
        {
            Assert.Equal(convs, ops["Conv"]);
            Assert.True(ops["QuantizeLinear"] >= convs);
            Assert.True(ops["DequantizeLinear"] >= 2 * convs); // activation and weight (plus bias) of every conv
        }
        else
        {
            Assert.Equal(convs, ops["QLinearConv"]);
            Assert.Equal(1, ops["QLinearAdd"]);
            Assert.Equal(1, ops["QLinearGlobalAveragePool"]);
            Assert.Equal(1, ops["QGemm"]);
            Assert.False(ops.ContainsKey("Conv"));
        }
        // Every conv weight is stored as int8; the FP32 originals are gone.
        var model = QuantizationFixture.Load(int8);
        var weights = model.Graph.Initializer.Where(i => i.Dims.Count == 4).ToList();
        Assert.Equal(convs, weights.Count);
        Assert.All(weights, w => Assert.Equal(3, w.DataType));
    }

    [Fact]
    public async Task OnnxRuntimeFusesQdqIntoIntegerKernels()
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, DemoModels.SmallCnn(QuantizationFixture.Tile));
        var int8 = Path.Combine(dir.Path, "int8.onnx");
        await QuantizationFixture.QuantizeAsync(fp32, int8, new QuantizationOptions());

        var ops = QuantizationFixture.OpCounts(QuantizationFixture.Optimized(int8, Path.Combine(dir.Path, "optimized.onnx")));
        Assert.Equal(3, ops.GetValueOrDefault("QLinearConv"));
        Assert.Equal(1, ops.GetValueOrDefault("QLinearAdd"));
        Assert.False(ops.ContainsKey("Conv"), string.Join(", ", ops.Keys));
    }

    [Fact]
    public async Task PercentileCalibrationClipsWhereMinMaxDoesNot()
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, DemoModels.SmallCnn(QuantizationFixture.Tile));
        var minmax = Path.Combine(dir.Path, "minmax.onnx");
        var percentile = Path.Combine(dir.Path, "percentile.onnx");
        await QuantizationFixture.QuantizeAsync(fp32, minmax, new QuantizationOptions());
        await QuantizationFixture.QuantizeAsync(fp32, percentile, new QuantizationOptions { Method = CalibrationMethod.Percentile, Percentile = 99.0 });

        static float InputScale(string path) => OnnxTensorScalar(QuantizationFixture.Load(path), DemoModels.ImageInput + "_scale");
        Assert.True(InputScale(percentile) < InputScale(minmax));
        var agreement = await QuantizationFixture.CompareAsync(fp32, percentile);
        Assert.True(agreement.MeanCosine > 0.99, $"cosine {agreement.MeanCosine}");
    }

    private static float OnnxTensorScalar(Histoscale.Quantization.Proto.ModelProto model, string name) =>
        BitConverter.ToSingle(model.Graph.Initializer.Single(i => i.Name == name).RawData.Span);
}
