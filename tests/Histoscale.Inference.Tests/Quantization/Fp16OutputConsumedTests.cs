using Histoscale.Inference.Tensors;
using Histoscale.Quantization;
using Histoscale.Synthesis.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Histoscale.Inference.Tests.Quantization;

/// <summary>
/// A graph output that later nodes also consume: after conversion those nodes read its float16 value (the float32
/// graph output is a Cast of it), so ONNX Runtime loads the model and both outputs match float32.
/// </summary>
public class Fp16OutputConsumedTests
{
    [Fact]
    public void AnOutputFeedingAnotherOutputStaysLoadableAndCorrect()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder()
            .Input("x", TensorDataType.Fp32, "N", 4)
            .Output("first", TensorDataType.Fp32, "N", 4)
            .Output("second", TensorDataType.Fp32, "N", 4);
        b.Mul("x", b.Floats([0.5f, 2f, -1f, 3f], 4), "first");
        b.Relu(b.Add("first", b.Floats([1f, -1f, 0.25f, 0f], 4)), "second");
        var fp32 = Path.Combine(dir.Path, "two.onnx");
        b.Save(fp32);
        var fp16 = Path.Combine(dir.Path, "two-fp16.onnx");
        Fp16Converter.Convert(fp32, fp16);

        float[] input = [1f, 2f, 3f, 4f, -1f, 0.5f, 0.25f, -2f];
        var expected = Run(fp32, input);
        var actual = Run(fp16, input); // before the fix: Add got the float32 output and a float16 constant, rejected on load
        foreach (var name in new[] { "first", "second" })
        {
            Assert.Equal(expected[name].Length, actual[name].Length);
            for (var i = 0; i < expected[name].Length; i++)
            {
                Assert.True(MathF.Abs(expected[name][i] - actual[name][i]) <= 0.01f, $"{name}[{i}]: {expected[name][i]} vs {actual[name][i]}");
            }
        }
    }

    private static Dictionary<string, float[]> Run(string path, float[] input)
    {
        using var session = new InferenceSession(path);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(input, [2, 4]))]);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }
}
