using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Scheduling;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.Models;

public class ModelDescriptionTests
{
    [Fact]
    public void RepositoryModelCarriesTheHistoscaleBlock()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.TissueClassifier(TensorDataType.UInt8, 32));
        var text = File.ReadAllText(Path.Combine(modelDir, "config.pbtxt"));
        Assert.Contains("key: \"histoscale.class_names\"", text);
        var d = ModelDescription.Load(modelDir);
        Assert.Equal("tissue_classifier", d.Name);
        Assert.Equal(1, d.Version);
        Assert.Equal(32, d.TileSize);
        Assert.Equal(0.5, d.Parameters.Mpp);
        Assert.Equal(TensorFormat.Nchw, d.Layout);
        Assert.Equal(OutputKind.ClassScores, d.Parameters.OutputKind);
        Assert.Equal(["#ffffff", "#e377c2", "#3c2d8c"], d.Parameters.ClassColors);
        Assert.Equal("scores", d.PrimaryOutput.Name);
        Assert.Equal([-1L, 3], d.PrimaryOutput.Shape);
        var batcher = BatcherOptions.FromConfig(d.Config);
        Assert.True(batcher.Enabled);
        Assert.Equal(TimeSpan.FromMilliseconds(2), batcher.MaxQueueDelay);
    }

    [Fact]
    public void BareOnnxTakesShapesFromTheModelAndTheRestFromOverrides()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "classifier.onnx");
        File.WriteAllBytes(path, DemoModels.TissueClassifier(TensorDataType.Fp32, 32).Onnx);
        var d = ModelDescription.Load(path, new ModelOverrides
        {
            Mpp = 0.25,
            Mean = HistoscaleParameters.ParseTriple("123.675,116.28,103.53"),
            Std = HistoscaleParameters.ParseTriple("58.395, 57.12, 57.375"),
            ClassNames = HistoscaleParameters.SplitList("a,b,c"),
        });
        Assert.Equal("classifier", d.Name);
        Assert.Null(d.ConfigPath);
        Assert.Equal(ModelDescription.DefaultMaxBatchSize, d.MaxBatchSize);
        Assert.Equal(32, d.TileSize);
        Assert.Equal(TensorDataType.Fp32, d.ImageInput.DataType);
        Assert.Equal([-1L, 3, 32, 32], d.ImageInput.Shape);
        Assert.Equal(0.25, d.Parameters.Mpp);
        Assert.Equal(123.675f, d.Parameters.Mean[0]);
        Assert.Equal(["a", "b", "c"], d.Parameters.ClassNames);
        // The completed config can be written and read back, as the server's /config would return it.
        var again = ModelConfigReader.Parse(ModelConfigWriter.Write(d.Config));
        Assert.Equal([3L, 32, 32], again.Inputs[0].Dims);
        Assert.Equal("a,b,c", again.Parameters[HistoscaleParameters.ClassNamesKey]);
    }

    [Fact]
    public void ConfigDtypeMismatchNamesModelTensorAndField()
    {
        using var dir = new TempDir();
        var built = DemoModels.HematoxylinOd(TensorDataType.UInt8, 16);
        built.Config.Inputs[0].DataType = TensorDataType.Fp32;
        var modelDir = ModelRepositoryWriter.Write(dir.Path, built);
        var ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(modelDir));
        Assert.Equal("hematoxylin_od", ex.Model);
        Assert.Equal("input[0].data_type", ex.Field);
        Assert.Contains("'image'", ex.Message);
        Assert.Contains("TYPE_FP32", ex.Message);
        Assert.Contains("TYPE_UINT8", ex.Message);
    }

    [Fact]
    public void ConfigShapeMismatchNamesModelTensorAndField()
    {
        using var dir = new TempDir();
        var built = DemoModels.HematoxylinOd(TensorDataType.UInt8, 16);
        built.Config.Inputs[0].Dims = [3, 32, 32];
        var ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, built)));
        Assert.Equal("input[0].dims", ex.Field);
        Assert.Contains("[3,32,32] do not match the ONNX model's [3,16,16]", ex.Message);
    }

    [Fact]
    public void UnknownTensorAndTileSizeConflictAreRejected()
    {
        using var dir = new TempDir();
        var built = DemoModels.MeanIntensity(TensorDataType.UInt8, 16);
        built.Config.Outputs[0].Name = "logits";
        var ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, built)));
        Assert.Equal("output[0].name", ex.Field);

        var path = Path.Combine(dir.Path, "m.onnx");
        File.WriteAllBytes(path, DemoModels.MeanIntensity(TensorDataType.UInt8, 16).Onnx);
        ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(path, new ModelOverrides { TileSize = 224 }));
        Assert.Equal("parameters[histoscale.tile_size]", ex.Field);
        Assert.Contains("tile size 224 does not match", ex.Message);
    }

    [Fact]
    public void MissingModelFileOrPathIsAConfigError()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.MeanIntensity(TensorDataType.UInt8, 8));
        File.Delete(Path.Combine(modelDir, "1", "model.onnx"));
        var ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(modelDir));
        Assert.Contains("model file is missing", ex.Message);
        Assert.EndsWith(Path.Combine("1", "model.onnx"), ex.File);
        Assert.Throws<ModelConfigException>(() => ModelDescription.Load(Path.Combine(dir.Path, "nope.onnx")));
        var garbage = Path.Combine(dir.Path, "garbage.onnx");
        File.WriteAllText(garbage, "not a model");
        Assert.Contains("cannot load", Assert.Throws<ModelConfigException>(() => ModelDescription.Load(garbage)).Message);
    }

    [Fact]
    public void InvalidHistoscaleParameterNamesTheKey()
    {
        using var dir = new TempDir();
        var built = DemoModels.MeanIntensity(TensorDataType.UInt8, 8);
        built.Config.Parameters[HistoscaleParameters.MeanKey] = "1,2";
        var ex = Assert.Throws<ModelConfigException>(() => ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, built)));
        Assert.Equal("parameters[histoscale.mean]", ex.Field);
    }

    [Fact]
    public async Task RepositoryModelRunsThroughTheBatcherEndToEnd()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, 16));
        var model = ModelDescription.Load(modelDir);
        await using var backend = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 2, Cores = 2 });
        await using var batcher = new DynamicBatcher(backend, BatcherOptions.FromConfig(model.Config));
        var requests = Enumerable.Range(0, 6).Select(async i =>
        {
            var pixels = Images.Random(2, 16, seed: 100 + i);
            using var inputs = new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 2, 3, 16, 16));
            using var outputs = await batcher.InferAsync(inputs);
            var expected = Reference.MeanHematoxylin(pixels, 2, 16);
            var actual = outputs["hematoxylin_od"].ToArray<float>();
            Assert.Equal(expected[0], actual[0], 1e-4);
            Assert.Equal(expected[1], actual[1], 1e-4);
        });
        await Task.WhenAll(requests);
        Assert.Equal(12, batcher.Statistics.Snapshot().InferenceCount);
    }
}
