using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;
using Histoscale.Quantization;
using Histoscale.Quantization.Proto;
using Histoscale.Synthesis.Models;

namespace Histoscale.Inference.Tests.Quantization;

public class Fp16ConverterTests
{
    public static TheoryData<string> Models => ["small_cnn", "small_cnn_hardswish", "tissue_classifier", "embedding"];

    private static BuiltModel Build(string name) => name switch
    {
        "small_cnn" => DemoModels.SmallCnn(QuantizationFixture.Tile, classes: 4, channels: 8),
        "small_cnn_hardswish" => DemoModels.SmallCnn(QuantizationFixture.Tile, classes: 6, channels: 16, hardSwish: true, seed: 7),
        "tissue_classifier" => DemoModels.TissueClassifier(TensorDataType.UInt8, QuantizationFixture.Tile),
        _ => DemoModels.Embedding(16, TensorDataType.UInt8, QuantizationFixture.Tile),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Fp16ModelKeepsTheFloat32InterfaceAndMatchesFp32Outputs(string name)
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, Build(name));
        var fp16 = Path.Combine(dir.Path, "fp16.onnx");
        var summary = Fp16Converter.Convert(fp32, fp16);
        Assert.True(summary.Initializers > 0);
        Assert.True(summary.CastsInserted >= 1);

        var written = OnnxModelFile.Load(fp16);
        var floatType = OnnxTypes.ToOnnx(TensorDataType.Fp32);
        var halfType = OnnxTypes.ToOnnx(TensorDataType.Fp16);
        Assert.DoesNotContain(written.Graph.Initializer, t => t.DataType == floatType);
        Assert.Contains(written.Graph.Initializer, t => t.DataType == halfType);

        await using var reference = OnnxRuntimeBackend.Create(ModelDescription.FromOnnxFile(fp32), new OnnxRuntimeOptions { Instances = 1 });
        await using var candidate = OnnxRuntimeBackend.Create(ModelDescription.FromOnnxFile(fp16), new OnnxRuntimeOptions { Instances = 1 });
        Assert.Equal(reference.Metadata.Inputs[0].DataType, candidate.Metadata.Inputs[0].DataType);
        Assert.Equal(reference.Metadata.Outputs.Select(o => (o.Name, o.DataType)), candidate.Metadata.Outputs.Select(o => (o.Name, o.DataType)));
        Assert.All(candidate.Metadata.Outputs, o => Assert.Equal(TensorDataType.Fp32, o.DataType));

        var input = reference.Metadata.Inputs[0];
        using var batch = input.DataType == TensorDataType.Fp32
            ? QuantizationFixture.Batch(8, seed: 11)
            : Images.AsTensor(Images.Random(8, QuantizationFixture.Tile, seed: 11), input.DataType, 8, 3, QuantizationFixture.Tile, QuantizationFixture.Tile);
        using var inputs = new TensorSet().Add(input.Name, batch);
        using var a = await reference.ExecuteAsync(inputs);
        using var b = await candidate.ExecuteAsync(inputs);
        foreach (var output in reference.Metadata.Outputs)
        {
            var expected = a[output.Name].ToArray<float>();
            var actual = b[output.Name].ToArray<float>();
            Assert.Equal(expected.Length, actual.Length);
            var scale = Math.Max(1f, expected.Max(MathF.Abs));
            var worst = expected.Zip(actual, (e, c) => MathF.Abs(e - c)).Max();
            // float16 keeps ~3 decimal digits; errors compound over a few layers.
            Assert.True(worst <= 0.02f * scale, $"{name}/{output.Name}: max |fp32 - fp16| = {worst} (scale {scale})");
            Assert.True(worst > 0f || expected.All(v => v == 0f), $"{name}/{output.Name}: fp16 outputs are bit-identical to fp32, so nothing was converted");
        }
    }

    [Fact]
    public void SoftmaxAndLogStayInFloat32BetweenCasts()
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, DemoModels.TissueClassifier(TensorDataType.UInt8, QuantizationFixture.Tile));
        var fp16 = Path.Combine(dir.Path, "fp16.onnx");
        var summary = Fp16Converter.Convert(fp32, fp16);
        Assert.Contains(summary.KeptFp32, k => k.StartsWith("Softmax", StringComparison.Ordinal));
        var graph = OnnxModelFile.Load(fp16).Graph;
        var softmax = graph.Node.Single(n => n.OpType == "Softmax");
        // The scores output is the graph's float32 output, written by Softmax itself; its input comes from a Cast to float32.
        var producer = graph.Node.Single(n => n.Output.Contains(softmax.Input[0]));
        Assert.Equal("Cast", producer.OpType);
        Assert.Equal(OnnxTypes.ToOnnx(TensorDataType.Fp32), (int)producer.Attribute.Single(a => a.Name == "to").I);

        // With an empty keep list, Softmax computes in float16 and a Cast feeds the float32 output.
        var all = Path.Combine(dir.Path, "all.onnx");
        Assert.Empty(Fp16Converter.Convert(fp32, all, keepFp32Ops: []).KeptFp32);
        var g2 = OnnxModelFile.Load(all).Graph;
        Assert.Equal("Cast", g2.Node.Single(n => n.Output.Contains(g2.Output[0].Name)).OpType);
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        using var dir = new TempDir();
        var junk = Path.Combine(dir.Path, "junk.onnx");
        File.WriteAllText(junk, "not a model");
        var ex = Assert.Throws<ModelConfigException>(() => Fp16Converter.Convert(junk, Path.Combine(dir.Path, "out.onnx")));
        Assert.Contains("not a valid ONNX model", ex.Message);
        Assert.Contains(junk, ex.Message);

        var fp32 = QuantizationFixture.Save(dir, DemoModels.SmallCnn(QuantizationFixture.Tile));
        var fp16 = Path.Combine(dir.Path, "fp16.onnx");
        Fp16Converter.Convert(fp32, fp16);
        Assert.Contains("already has float16", Assert.Throws<ModelConfigException>(() => Fp16Converter.Convert(fp16, Path.Combine(dir.Path, "again.onnx"))).Message);
        Assert.Throws<QuantizationConfigException>(() => Fp16Converter.Convert(fp32, fp32));
    }
}
