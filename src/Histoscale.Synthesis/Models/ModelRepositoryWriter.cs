using System.Globalization;
using Histoscale.Inference.Config;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis.Models;

namespace Histoscale.Synthesis.Models;

/// <summary>Writes models into a Triton-layout repository (used by tests, the demo and the benchmarks).</summary>
public static class ModelRepositoryWriter
{
    /// <summary>Writes <c>REPO/NAME/config.pbtxt</c> and <c>REPO/NAME/VERSION/model.onnx</c>; returns the model directory.</summary>
    public static string Write(string repository, BuiltModel model, long version = 1)
    {
        var dir = Path.Combine(repository, model.Name);
        var versionDir = Path.Combine(dir, version.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(versionDir);
        File.WriteAllBytes(Path.Combine(versionDir, model.Config.ModelFileName), model.Onnx);
        ModelConfigWriter.WriteFile(model.Config, Path.Combine(dir, ModelRepository.ConfigFileName));
        return dir;
    }
}
