using Histoscale.Inference.Config;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.Repository;

public class ModelRepositoryTests
{
    [Fact]
    public void IndexesModelsAndAppliesVersionPolicies()
    {
        using var dir = new TempDir();
        var latest = DemoModels.MeanIntensity(TensorDataType.UInt8, 8, name: "latest2");
        latest.Config.VersionPolicy = VersionPolicy.Latest(2);
        foreach (var v in new long[] { 1, 3, 10 })
        {
            ModelRepositoryWriter.Write(dir.Path, latest, v);
        }
        var specific = DemoModels.MeanIntensity(TensorDataType.UInt8, 8, name: "specific");
        specific.Config.VersionPolicy = VersionPolicy.Specific(1, 7);
        ModelRepositoryWriter.Write(dir.Path, specific, 1);
        ModelRepositoryWriter.Write(dir.Path, specific, 2);
        var all = DemoModels.MeanIntensity(TensorDataType.UInt8, 8, name: "all");
        all.Config.VersionPolicy = VersionPolicy.All;
        ModelRepositoryWriter.Write(dir.Path, all, 4);
        ModelRepositoryWriter.Write(dir.Path, all, 2);
        Directory.CreateDirectory(Path.Combine(dir.Path, "all", "notaversion"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "broken"));
        File.WriteAllText(Path.Combine(dir.Path, "broken", "config.pbtxt"), "name: \"broken\"\nmax_batch_size: x");

        var repo = new ModelRepository(dir.Path);
        var index = repo.Index();
        Assert.Equal(["all", "broken", "latest2", "specific"], index.Select(e => e.Name));
        Assert.Equal([2L, 4], index[0].Versions);
        Assert.Contains("config.pbtxt:2", index[1].Error);
        Assert.Equal([3L, 10], index[2].Versions);
        Assert.Equal([1L], index[3].Versions);

        var model = repo.Open("latest2");
        Assert.Equal(10, model.LatestVersion);
        Assert.Equal([1L, 3, 10], model.AvailableVersions);
        Assert.EndsWith(Path.Combine("latest2", "10", "model.onnx"), model.ResolveModelFile());
        Assert.Contains("not served", Assert.Throws<ModelConfigException>(() => model.ResolveModelFile(1)).Message);
        Assert.Contains("does not exist", Assert.Throws<ModelConfigException>(() => model.ResolveModelFile(5)).Message);
        Assert.Throws<ModelConfigException>(() => repo.Open("../x"));
        Assert.Throws<ModelConfigException>(() => repo.Open("missing"));
    }

    [Fact]
    public void ConfigNameMustMatchDirectory()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.MeanIntensity(TensorDataType.UInt8, 8));
        Directory.Move(modelDir, Path.Combine(dir.Path, "renamed"));
        var ex = Assert.Throws<ModelConfigException>(() => new ModelRepository(dir.Path).Open("renamed"));
        Assert.Equal("name", ex.Field);
    }

    [Fact]
    public void DirectoryWithoutConfigIsCompletedFromTheModel()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.MeanIntensity(TensorDataType.UInt8, 8));
        File.Delete(Path.Combine(modelDir, "config.pbtxt"));
        var d = Histoscale.Inference.Models.ModelDescription.Load(modelDir);
        Assert.Equal("mean_intensity", d.Name);
        Assert.Equal([3L, 8, 8], d.Config.Inputs[0].Dims);
        Assert.Equal(8, d.TileSize);
    }

    [Fact]
    public void MissingRepositoryIsAConfigError() =>
        Assert.Throws<ModelConfigException>(() => new ModelRepository("/nonexistent/histoscale/repo"));
}
