using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;
using Histoscale.Inference;

namespace Histoscale.Synthesis.Models;

/// <summary>An ONNX model built in code together with the config.pbtxt that describes it.</summary>
/// <param name="Name">Model name (also its config's <c>name</c>).</param>
/// <param name="Onnx">The encoded ONNX ModelProto.</param>
/// <param name="Config">Its Triton config, histoscale.* parameters included.</param>
public sealed record BuiltModel(string Name, byte[] Onnx, ModelConfig Config);

/// <summary>
/// Ready-made models for tests, the demo and benchmarks. All take an RGB image on the 0–255 scale
/// (<c>[N,3,H,W]</c>, or <c>[N,H,W,3]</c> with <see cref="TensorFormat.Nhwc"/>) in UINT8, FP16 or FP32, so the
/// pipeline feeds raw pixels (histoscale mean 0, std 1). Batch is dynamic ("N"); H and W are fixed to the tile size.
/// </summary>
public static class DemoModels
{
    /// <summary>Name of every demo model's image input.</summary>
    public const string ImageInput = "image";

    /// <summary>
    /// Mean hematoxylin optical density per tile: output <c>hematoxylin_od</c> [N,1] =
    /// mean over pixels of <c>Σ_c OD_c · M⁻¹[c, H]</c> with OD and M⁻¹ exactly as in <see cref="StainVectors"/>.
    /// </summary>
    public static BuiltModel HematoxylinOd(TensorDataType inputType = TensorDataType.UInt8, int tileSize = 64, TensorFormat layout = TensorFormat.Nchw, string name = "hematoxylin_od")
    {
        var b = new OnnxModelBuilder(name);
        var x = ImageAsNchwFloat(b, inputType, tileSize, layout);
        var inv = StainVectors.Deconvolution();
        var weights = new float[3];
        for (var c = 0; c < 3; c++)
        {
            weights[c] = (float)inv[c, StainVectors.Hematoxylin];
        }
        var h = b.Conv(OpticalDensity(b, x), b.Floats(weights, 1, 3, 1, 1));
        b.Reshape(b.GlobalAveragePool(h), [-1, 1], output: "hematoxylin_od");
        b.Output("hematoxylin_od", TensorDataType.Fp32, "N", 1);
        var p = new HistoscaleParameters { TileSize = tileSize, Mpp = 0.5, Layout = layout, OutputKind = OutputKind.ClassScores, ClassNames = ["hematoxylin_od"], ClassColors = ["#3c2d8c"] };
        return Finish(b, name, inputType, tileSize, layout, p, ("hematoxylin_od", [1]));
    }

    /// <summary>
    /// Three-class tissue classifier from colour statistics, output <c>scores</c> [N,3] = softmax over
    /// background / stroma / nuclei_rich. Features per tile: mean hematoxylin h, mean eosin e and mean total OD t
    /// (<see cref="StainVectors"/>); logits: background = 4 − 20t, stroma = 30e − 10h, nuclei_rich = 15h.
    /// White glass → background, pink → stroma, purple → nuclei_rich.
    /// </summary>
    public static BuiltModel TissueClassifier(TensorDataType inputType = TensorDataType.UInt8, int tileSize = 224, TensorFormat layout = TensorFormat.Nchw, string name = "tissue_classifier")
    {
        var b = new OnnxModelBuilder(name);
        var x = ImageAsNchwFloat(b, inputType, tileSize, layout);
        var inv = StainVectors.Deconvolution();
        // Conv 1x1 rows: hematoxylin, eosin, total OD (all-ones).
        var w = new float[9];
        for (var c = 0; c < 3; c++)
        {
            w[c] = (float)inv[c, StainVectors.Hematoxylin];
            w[3 + c] = (float)inv[c, StainVectors.Eosin];
            w[6 + c] = 1f;
        }
        var features = b.Reshape(b.GlobalAveragePool(b.Conv(OpticalDensity(b, x), b.Floats(w, 3, 3, 1, 1))), [-1, 3]);
        float[] classWeights =
        [
            // rows: h, e, t; columns: background, stroma, nuclei_rich
            0f, -10f, 15f,
            0f, 30f, 0f,
            -20f, 0f, 0f,
        ];
        var logits = b.Add(b.MatMul(features, b.Floats(classWeights, 3, 3)), b.Floats([4f, 0f, 0f], 3));
        b.Softmax(logits, 1, output: "scores");
        b.Output("scores", TensorDataType.Fp32, "N", 3);
        var p = new HistoscaleParameters
        {
            TileSize = tileSize,
            Mpp = 0.5,
            Layout = layout,
            OutputKind = OutputKind.ClassScores,
            ClassNames = ["background", "stroma", "nuclei_rich"],
            ClassColors = ["#ffffff", "#e377c2", "#3c2d8c"],
        };
        return Finish(b, name, inputType, tileSize, layout, p, ("scores", [3]));
    }

    /// <summary>
    /// Trivial per-tile model for throughput tests: <c>mean_intensity</c> [N,1] = mean of all input values, or with
    /// <paramref name="sampleStride"/> &gt; 1 of every stride-th pixel along each axis (a model that costs next to
    /// nothing, so the pipeline's own reading, packing and stitching are what a benchmark measures).
    /// </summary>
    public static BuiltModel MeanIntensity(TensorDataType inputType = TensorDataType.UInt8, int tileSize = 256, TensorFormat layout = TensorFormat.Nchw, string name = "mean_intensity", int sampleStride = 1)
    {
        var b = new OnnxModelBuilder(name);
        // The mean over all values does not depend on the layout, so NHWC needs no Transpose here.
        b.Input(ImageInput, inputType, layout == TensorFormat.Nhwc ? ["N", tileSize, tileSize, 3] : ["N", 3, tileSize, tileSize]);
        var sampled = sampleStride > 1
            ? b.Slice(ImageInput, [0, 0], [tileSize, tileSize], layout == TensorFormat.Nhwc ? [1, 2] : [2, 3], [sampleStride, sampleStride])
            : ImageInput;
        var x = b.Cast(sampled, TensorDataType.Fp32);
        b.Reshape(b.ReduceMean(x, [1, 2, 3], keepDims: false), [-1, 1], output: "mean_intensity");
        b.Output("mean_intensity", TensorDataType.Fp32, "N", 1);
        var p = new HistoscaleParameters { TileSize = tileSize, Layout = layout, OutputKind = OutputKind.ClassScores, ClassNames = ["mean_intensity"] };
        return Finish(b, name, inputType, tileSize, layout, p, ("mean_intensity", [1]));
    }

    /// <summary>
    /// Per-tile embedding <c>embedding</c> [N,D]: m_c = mean of channel c / 255; e_d = relu(Σ_c (m_c − 0.5)·W[c,d] + B[d])
    /// with <see cref="EmbeddingWeight"/> and <see cref="EmbeddingBias"/>.
    /// </summary>
    public static BuiltModel Embedding(int dimensions = 8, TensorDataType inputType = TensorDataType.UInt8, int tileSize = 64, string name = "embedding")
    {
        var b = new OnnxModelBuilder(name);
        var x = ImageAsNchwFloat(b, inputType, tileSize, TensorFormat.Nchw);
        var means = b.Reshape(b.GlobalAveragePool(b.Div(x, b.Scalar(255f))), [-1, 3]);
        var centred = b.Sub(means, b.Scalar(0.5f));
        var w = new float[3 * dimensions];
        var bias = new float[dimensions];
        for (var d = 0; d < dimensions; d++)
        {
            bias[d] = EmbeddingBias(d);
            for (var c = 0; c < 3; c++)
            {
                w[(c * dimensions) + d] = EmbeddingWeight(c, d, dimensions);
            }
        }
        b.Relu(b.Add(b.MatMul(centred, b.Floats(w, 3, dimensions)), b.Floats(bias, dimensions)), output: "embedding");
        b.Output("embedding", TensorDataType.Fp32, "N", dimensions);
        var p = new HistoscaleParameters { TileSize = tileSize, Mpp = 0.5, Layout = TensorFormat.Nchw, OutputKind = OutputKind.Embedding };
        return Finish(b, name, inputType, tileSize, TensorFormat.Nchw, p, ("embedding", [dimensions]));
    }

    /// <summary>Weight from input channel <paramref name="channel"/> to embedding dimension <paramref name="d"/> of the demo embedding model: sin(1 + channel·dimensions + d).</summary>
    public static float EmbeddingWeight(int channel, int d, int dimensions) => MathF.Sin(1 + (channel * dimensions) + d);

    /// <summary>Bias of embedding dimension <paramref name="d"/> of the demo embedding model: 0.1·cos(d).</summary>
    public static float EmbeddingBias(int d) => 0.1f * MathF.Cos(d);

    /// <summary>
    /// Dense stain map <c>stain_density</c> [N,2,T/stride,T/stride]: per pixel the hematoxylin and eosin
    /// concentrations (<see cref="StainVectors"/>) clipped to [0, 3], averaged over each stride×stride cell.
    /// </summary>
    public static BuiltModel DenseStainMap(int stride = 16, TensorDataType inputType = TensorDataType.UInt8, int tileSize = 64, string name = "stain_density")
    {
        if (tileSize % stride != 0)
        {
            throw new ArgumentException($"tile size {tileSize} is not a multiple of stride {stride}", nameof(stride));
        }
        var b = new OnnxModelBuilder(name);
        var x = ImageAsNchwFloat(b, inputType, tileSize, TensorFormat.Nchw);
        var inv = StainVectors.Deconvolution();
        var w = new float[6];
        for (var c = 0; c < 3; c++)
        {
            w[c] = (float)inv[c, StainVectors.Hematoxylin];
            w[3 + c] = (float)inv[c, StainVectors.Eosin];
        }
        var concentrations = b.Clip(b.Conv(OpticalDensity(b, x), b.Floats(w, 2, 3, 1, 1)), 0f, 3f);
        b.AveragePool(concentrations, stride, stride, output: "stain_density");
        var cells = tileSize / stride;
        b.Output("stain_density", TensorDataType.Fp32, "N", 2, cells, cells);
        var p = new HistoscaleParameters
        {
            TileSize = tileSize,
            Mpp = 0.5,
            Layout = TensorFormat.Nchw,
            OutputKind = OutputKind.Dense,
            DenseStride = stride,
            ClassNames = ["hematoxylin", "eosin"],
            ClassColors = ["#3c2d8c", "#e377c2"],
        };
        return Finish(b, name, inputType, tileSize, TensorFormat.Nchw, p, ("stain_density", [2, cells, cells]));
    }

    /// <summary>
    /// A small seeded random-weight CNN shaped like the ResNet/MobileNet families, for quantization tests and demos:
    /// FP32 input normalised with ImageNet mean/std; conv(stride 2)+Relu, conv+Relu, conv + residual Add + Relu,
    /// optionally a depthwise conv with hard-swish (x·HardSigmoid(x)), MaxPool, GlobalAveragePool, Flatten and a
    /// Gemm to <c>logits</c> [N,<paramref name="classes"/>]. Weights are scaled so activations stay of order 1.
    /// </summary>
    public static BuiltModel SmallCnn(int tileSize = 32, int classes = 4, int channels = 8, bool hardSwish = false, int seed = 1, string name = "small_cnn")
    {
        var rng = new Random(seed);
        var b = new OnnxModelBuilder(name);
        b.Input(ImageInput, TensorDataType.Fp32, "N", 3, tileSize, tileSize);
        string Weights(params long[] dims)
        {
            var fanIn = dims[1..].Aggregate(1L, (a, d) => a * d);
            var limit = MathF.Sqrt(6f / fanIn);
            var w = new float[dims.Aggregate(1L, (a, d) => a * d)];
            for (var i = 0; i < w.Length; i++)
            {
                w[i] = (float)((rng.NextDouble() * 2) - 1) * limit;
            }
            return b.Floats(w, dims);
        }
        string Bias(int n) => b.Floats([.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 0.2) - 0.1))], n);
        string Conv(string x, int inChannels, int outChannels, int stride = 1, int group = 1) => b.Node("Conv", [x, Weights(outChannels, inChannels / group, 3, 3), Bias(outChannels)], null,
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1), OnnxAttribute.Ints("strides", stride, stride), OnnxAttribute.Int("group", group));

        var r1 = b.Relu(Conv(ImageInput, 3, channels, stride: 2));
        var r2 = b.Relu(Conv(r1, channels, channels));
        var r3 = b.Relu(b.Add(Conv(r2, channels, channels), r1));
        if (hardSwish)
        {
            var d = Conv(r3, channels, channels, group: channels);
            r3 = b.Mul(d, b.Node("HardSigmoid", [d], null, OnnxAttribute.Float("alpha", 1f / 6f), OnnxAttribute.Float("beta", 0.5f)));
        }
        var pooled = b.Node("MaxPool", [r3], null, OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
        var features = b.Node("Flatten", [b.GlobalAveragePool(pooled)], null, OnnxAttribute.Int("axis", 1));
        b.Node("Gemm", [features, Weights(classes, channels), Bias(classes)], "logits", OnnxAttribute.Int("transB", 1));
        b.Output("logits", TensorDataType.Fp32, "N", classes);
        var p = new HistoscaleParameters
        {
            TileSize = tileSize,
            Mpp = 0.5,
            Layout = TensorFormat.Nchw,
            Mean = [123.675f, 116.28f, 103.53f],
            Std = [58.395f, 57.12f, 57.375f],
            OutputKind = OutputKind.ClassScores,
        };
        return Finish(b, name, TensorDataType.Fp32, tileSize, TensorFormat.Nchw, p, ("logits", [classes]));
    }

    /// <summary>Declares the image input and returns it as float NCHW (Cast, plus Transpose for NHWC).</summary>
    private static string ImageAsNchwFloat(OnnxModelBuilder b, TensorDataType inputType, int tileSize, TensorFormat layout)
    {
        if (inputType is not (TensorDataType.UInt8 or TensorDataType.Fp16 or TensorDataType.Fp32))
        {
            throw new ArgumentException($"demo models take UINT8, FP16 or FP32 images, not {inputType.ToKServeName()}", nameof(inputType));
        }
        if (layout == TensorFormat.Nhwc)
        {
            b.Input(ImageInput, inputType, "N", tileSize, tileSize, 3);
            return b.Transpose(b.Cast(ImageInput, TensorDataType.Fp32), [0, 3, 1, 2]);
        }
        b.Input(ImageInput, inputType, "N", 3, tileSize, tileSize);
        return b.Cast(ImageInput, TensorDataType.Fp32);
    }

    /// <summary>OD = −ln((I + 1) / 256) / ln 10, elementwise (1/256 is exact in float).</summary>
    private static string OpticalDensity(OnnxModelBuilder b, string x) =>
        b.Mul(b.Neg(b.Log(b.Mul(b.Add(x, b.Scalar(1f)), b.Scalar(1f / 256f)))), b.Scalar((float)(1 / Math.Log(10))));

    private static BuiltModel Finish(OnnxModelBuilder b, string name, TensorDataType inputType, int tileSize, TensorFormat layout, HistoscaleParameters parameters, (string Name, long[] Dims) output)
    {
        var config = new ModelConfig
        {
            Name = name,
            Platform = "onnxruntime_onnx",
            MaxBatchSize = 64,
            DynamicBatching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 2000 },
        };
        config.Inputs.Add(new ModelTensorConfig
        {
            Name = ImageInput,
            DataType = inputType,
            Format = layout,
            Dims = layout == TensorFormat.Nhwc ? [tileSize, tileSize, 3] : [3, tileSize, tileSize],
        });
        config.Outputs.Add(new ModelTensorConfig { Name = output.Name, DataType = TensorDataType.Fp32, Dims = output.Dims });
        config.InstanceGroups.Add(new InstanceGroupConfig { Count = 1, Kind = InstanceKind.Cpu });
        parameters.WriteTo(config.Parameters);
        return new BuiltModel(name, b.Build(), config);
    }
}
