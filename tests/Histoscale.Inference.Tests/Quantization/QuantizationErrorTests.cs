using Google.Protobuf;
using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Quantization.Proto;
using Histoscale.Quantization;

namespace Histoscale.Inference.Tests.Quantization;

public class QuantizationErrorTests
{
    [Fact]
    public async Task AnAlreadyQuantizedModelIsRefusedNamingTheNode()
    {
        using var dir = new TempDir();
        var fp32 = QuantizationFixture.Save(dir, DemoModels.SmallCnn(QuantizationFixture.Tile));
        var int8 = Path.Combine(dir.Path, "int8.onnx");
        await QuantizationFixture.QuantizeAsync(fp32, int8, new QuantizationOptions { Format = QuantizationFormat.QOperator });

        var ex = Assert.Throws<ModelConfigException>(() => ModelQuantizer.Open(ModelDescription.FromOnnxFile(int8)));
        Assert.Contains("already quantized", ex.Message);
        Assert.Contains("QuantizeLinear", ex.Message);
        Assert.Contains(int8, ex.Message);
    }

    [Fact]
    public void AnOldOpsetIsRefused()
    {
        using var dir = new TempDir();
        var model = ModelProto.Parser.ParseFrom(DemoModels.SmallCnn(QuantizationFixture.Tile).Onnx);
        model.OpsetImport[0].Version = 11;
        var path = Path.Combine(dir.Path, "old.onnx");
        OnnxModelFile.Save(model, path);

        var ex = Assert.Throws<ModelConfigException>(() => ModelQuantizer.Open(ModelDescription.FromOnnxFile(path)));
        Assert.Contains("opset 11", ex.Message);
    }

    [Fact]
    public void MissingExternalDataIsNamed()
    {
        using var dir = new TempDir();
        var path = WriteWithExternalWeight(dir, writeData: false);
        var ex = Assert.Throws<ModelConfigException>(() => OnnxModelFile.Load(path));
        Assert.Contains("weights.bin", ex.Message);
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public async Task ExternalDataIsReadIntoTheQuantizedModel()
    {
        using var dir = new TempDir();
        var path = WriteWithExternalWeight(dir, writeData: true);
        var int8 = Path.Combine(dir.Path, "int8.onnx");
        await QuantizationFixture.QuantizeAsync(path, int8, new QuantizationOptions());

        Assert.DoesNotContain(QuantizationFixture.Load(int8).Graph.Initializer, i => i.DataLocation == TensorProto.Types.DataLocation.External);
        var agreement = await QuantizationFixture.CompareAsync(path, int8);
        Assert.True(agreement.MeanCosine > 0.995, $"cosine {agreement.MeanCosine}");
    }

    [Fact]
    public void AModelWithNothingToQuantizeIsRefused()
    {
        using var dir = new TempDir();
        var path = QuantizationFixture.Save(dir, DemoModels.MeanIntensity(Tensors.TensorDataType.Fp32, 16));
        var ex = Assert.Throws<ModelConfigException>(() => ModelQuantizer.Open(ModelDescription.FromOnnxFile(path)));
        Assert.Contains("nothing to quantize", ex.Message);
    }

    /// <summary>The small CNN with its largest initializer moved to weights.bin (ONNX external data).</summary>
    private static string WriteWithExternalWeight(TempDir dir, bool writeData)
    {
        var model = ModelProto.Parser.ParseFrom(DemoModels.SmallCnn(QuantizationFixture.Tile).Onnx);
        var weight = model.Graph.Initializer.MaxBy(i => i.RawData.Length)!;
        if (writeData)
        {
            // Behind 16 bytes of something else, so the offset is honoured.
            File.WriteAllBytes(Path.Combine(dir.Path, "weights.bin"), [.. new byte[16], .. weight.RawData.ToByteArray()]);
        }
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        weight.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = weight.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.RawData = ByteString.Empty;
        weight.ClearRawData();
        var path = Path.Combine(dir.Path, "external.onnx");
        OnnxModelFile.Save(model, path);
        return path;
    }
}
