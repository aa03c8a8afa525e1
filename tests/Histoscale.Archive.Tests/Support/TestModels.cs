using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;
using Histoscale.Synthesis.Models;

namespace Histoscale.Archive.Tests.Support;

/// <summary>A model repository for jobs (made here, never /work/shared) and the in-process backend serve gives them.</summary>
public static class TestModels
{
    public const string Tissue = "tissue";

    /// <summary>A repository holding the demo tissue classifier (64-pixel tiles at 0.5 µm/px: a few dozen tiles per test slide).</summary>
    public static string Repository(string folder)
    {
        var root = Directory.CreateDirectory(Path.Combine(folder, "models-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        ModelRepositoryWriter.Write(root, DemoModels.TissueClassifier(TensorDataType.UInt8, 64, name: Tissue));
        return root;
    }

    /// <summary>Jobs on ONNX Runtime in-process, one thread, as serve runs them.</summary>
    public static ArchiveJobOptions Jobs(int concurrency = 1) => new()
    {
        Backends = (model, _) => OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 1, IntraOpThreads = 1 }),
        Concurrency = concurrency,
    };
}
