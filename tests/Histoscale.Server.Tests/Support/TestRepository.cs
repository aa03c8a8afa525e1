using Histoscale.Inference.Config;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;

namespace Histoscale.Server.Tests.Support;

/// <summary>
/// Builds the model repository the tests serve, in a temporary directory: small demo models for every datatype the
/// protocol must carry (UINT8, FP16, FP32, INT64), a queue-limited model, a two-version model, a classifier for
/// remote-vs-local comparisons and a broken model that must not stop the others.
/// </summary>
internal static class TestRepository
{
    public const int Tile = 8;

    /// <summary>Tile edge of the queue-limited model (a 512² UINT8 request stays under the test server's 1 MB body limit).</summary>
    public const int LimitedTile = 512;

    public static string Create()
    {
        var root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        ModelRepositoryWriter.Write(root, DemoModels.MeanIntensity(TensorDataType.UInt8, Tile, name: "mean_u8"));
        ModelRepositoryWriter.Write(root, DemoModels.MeanIntensity(TensorDataType.Fp32, Tile, name: "mean_fp32"));
        ModelRepositoryWriter.Write(root, DemoModels.MeanIntensity(TensorDataType.Fp16, Tile, name: "mean_fp16"));
        ModelRepositoryWriter.Write(root, DemoModels.MeanIntensity(TensorDataType.UInt8, Tile, name: "reloadable"));
        ModelRepositoryWriter.Write(root, DemoModels.MeanIntensity(TensorDataType.UInt8, 160, name: "mean_big"));
        ModelRepositoryWriter.Write(root, Doubler());
        ModelRepositoryWriter.Write(root, DemoModels.TissueClassifier(TensorDataType.UInt8, 16, name: "tissue_u8"));
        ModelRepositoryWriter.Write(root, DemoModels.TissueClassifier(TensorDataType.Fp32, 16, name: "tissue_fp32"));

        // Slow enough (several ms per tile, even on a quiet machine) that a burst overflows its one-request queue.
        var limited = DemoModels.TissueClassifier(TensorDataType.UInt8, LimitedTile, name: "limited");
        limited.Config.MaxBatchSize = 1;
        limited.Config.DynamicBatching = new DynamicBatchingConfig { DefaultQueuePolicy = new QueuePolicyConfig { MaxQueueSize = 1 } };
        ModelRepositoryWriter.Write(root, limited);

        var versioned = DemoModels.MeanIntensity(TensorDataType.UInt8, Tile, name: "versioned");
        versioned.Config.VersionPolicy = VersionPolicy.All;
        ModelRepositoryWriter.Write(root, versioned, version: 1);
        ModelRepositoryWriter.Write(root, versioned, version: 2);

        var broken = Path.Combine(root, "broken");
        Directory.CreateDirectory(Path.Combine(broken, "1"));
        File.WriteAllText(Path.Combine(broken, "config.pbtxt"), "name: \"broken\"\nplatform: \"tensorflow_graphdef\"\n");
        return root;
    }

    /// <summary>INT64 model: <c>y = x + x</c> on [N,4].</summary>
    public static BuiltModel Doubler()
    {
        var b = new OnnxModelBuilder("doubler_i64");
        b.Input("x", TensorDataType.Int64, "N", 4);
        b.Add("x", "x", output: "y");
        b.Output("y", TensorDataType.Int64, "N", 4);
        var config = new ModelConfig { Name = "doubler_i64", Platform = "onnxruntime_onnx", MaxBatchSize = 16, DynamicBatching = new DynamicBatchingConfig() };
        config.Inputs.Add(new ModelTensorConfig { Name = "x", DataType = TensorDataType.Int64, Dims = [4] });
        config.Outputs.Add(new ModelTensorConfig { Name = "y", DataType = TensorDataType.Int64, Dims = [4] });
        return new BuiltModel("doubler_i64", b.Build(), config);
    }

    public static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
