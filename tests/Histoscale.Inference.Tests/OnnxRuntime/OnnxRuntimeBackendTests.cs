using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.OnnxRuntime;

public class OnnxRuntimeBackendTests
{
    private const int Size = 16;

    [Theory]
    [InlineData(TensorDataType.UInt8)]
    [InlineData(TensorDataType.Fp32)]
    [InlineData(TensorDataType.Fp16)]
    public async Task HematoxylinOdMatchesIndependentComputation(TensorDataType inputType)
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(inputType, Size));
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.Load(modelDir), new OnnxRuntimeOptions { Instances = 1 });
        Assert.Equal(inputType, backend.Metadata.Inputs[0].DataType);
        Assert.Equal([-1L, 3, Size, Size], backend.Metadata.Inputs[0].Shape);

        foreach (var batch in new[] { 1, 5 })
        {
            var pixels = Images.Random(batch, Size, seed: batch);
            using var inputs = new TensorSet().Add("image", Images.AsTensor(pixels, inputType, batch, 3, Size, Size));
            using var outputs = await backend.ExecuteAsync(inputs);
            var od = outputs["hematoxylin_od"];
            Assert.Equal([(long)batch, 1], od.Shape.ToArray());
            var expected = Reference.MeanHematoxylin(pixels, batch, Size);
            var actual = od.ToArray<float>();
            for (var n = 0; n < batch; n++)
            {
                Assert.Equal(expected[n], actual[n], 1e-4);
            }
        }
    }

    [Fact]
    public async Task AGraphInputAlsoRequestedAsAnOutputComesBackWithItsValues()
    {
        // ORT never writes a graph input into a caller's output buffer, so such outputs must not be pre-bound.
        using var dir = new TempDir();
        var b = new OnnxModelBuilder("passthrough");
        b.Input("x", TensorDataType.Fp32, "N", 4);
        b.Mul("x", b.Scalar(2f), output: "y");
        b.Output("y", TensorDataType.Fp32, "N", 4);
        b.Output("x", TensorDataType.Fp32, "N", 4);
        var path = Path.Combine(dir.Path, "passthrough.onnx");
        b.Save(path);
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.FromOnnxFile(path), new OnnxRuntimeOptions { Instances = 1 });
        float[] values = [1, 2, 3, 4, 5, 6, 7, 8];
        using var inputs = new TensorSet().Add("x", Tensor.FromValues<float>(TensorDataType.Fp32, values, 2, 4));
        using var outputs = await backend.ExecuteAsync(inputs);
        Assert.Equal(values, outputs["x"].ToArray<float>());
        Assert.Equal(values.Select(v => 2 * v).ToArray(), outputs["y"].ToArray<float>());
    }

    [Fact]
    public async Task NhwcLayoutGivesSameResultAsNchw()
    {
        using var dir = new TempDir();
        var nchwDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, Size, TensorFormat.Nchw, "a"));
        var nhwcDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, Size, TensorFormat.Nhwc, "b"));
        var nhwcModel = ModelDescription.Load(nhwcDir);
        Assert.Equal(TensorFormat.Nhwc, nhwcModel.Layout);
        Assert.Equal(Size, nhwcModel.TileSize);
        await using var nchw = OnnxRuntimeBackend.Create(ModelDescription.Load(nchwDir));
        await using var nhwc = OnnxRuntimeBackend.Create(nhwcModel);

        var pixels = Images.Random(2, Size, seed: 3);
        var transposed = new byte[pixels.Length];
        var plane = Size * Size;
        for (var n = 0; n < 2; n++)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var p = 0; p < plane; p++)
                {
                    transposed[(n * 3 * plane) + (p * 3) + c] = pixels[(n * 3 * plane) + (c * plane) + p];
                }
            }
        }
        using var a = await nchw.ExecuteAsync(new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 2, 3, Size, Size)));
        using var b = await nhwc.ExecuteAsync(new TensorSet().Add("image", Images.AsTensor(transposed, TensorDataType.UInt8, 2, Size, Size, 3)));
        Assert.Equal(a["hematoxylin_od"].ToArray<float>(), b["hematoxylin_od"].ToArray<float>());
    }

    [Fact]
    public async Task TissueClassifierSeparatesGlassPinkAndPurple()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.TissueClassifier(TensorDataType.UInt8, 32));
        var model = ModelDescription.Load(modelDir);
        Assert.Equal(["background", "stroma", "nuclei_rich"], model.Parameters.ClassNames);
        await using var backend = OnnxRuntimeBackend.Create(model);
        var pixels = Images.Solid(3, 32, (245, 245, 245), (235, 150, 200), (100, 60, 150));
        using var outputs = await backend.ExecuteAsync(new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 3, 3, 32, 32)));
        var scores = outputs["scores"].ToArray<float>();
        for (var n = 0; n < 3; n++)
        {
            var row = scores.AsSpan(n * 3, 3);
            Assert.Equal(1f, row[0] + row[1] + row[2], 1e-5f);
            Assert.Equal(n, row.IndexOf(MaxOf(row)));
        }
    }

    [Fact]
    public async Task EmbeddingAndDenseModelsMatchTheirFormulas()
    {
        using var dir = new TempDir();
        var pixels = Images.Random(2, Size, seed: 11);
        var plane = Size * Size;

        var embedding = ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, DemoModels.Embedding(4, TensorDataType.UInt8, Size)));
        Assert.Equal(OutputKind.Embedding, embedding.Parameters.OutputKind);
        await using (var backend = OnnxRuntimeBackend.Create(embedding))
        {
            using var outputs = await backend.ExecuteAsync(new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 2, 3, Size, Size)));
            var e = outputs["embedding"].ToArray<float>();
            for (var n = 0; n < 2; n++)
            {
                var means = Enumerable.Range(0, 3).Select(c => pixels.AsSpan(((n * 3) + c) * plane, plane).ToArray().Average(v => v / 255.0)).ToArray();
                for (var d = 0; d < 4; d++)
                {
                    var z = DemoModels.EmbeddingBias(d) + Enumerable.Range(0, 3).Sum(c => (means[c] - 0.5) * DemoModels.EmbeddingWeight(c, d, 4));
                    Assert.Equal(Math.Max(0, z), e[(n * 4) + d], 1e-5);
                }
            }
        }

        var dense = ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, DemoModels.DenseStainMap(stride: 8, TensorDataType.UInt8, Size)));
        Assert.Equal(8, dense.DenseStride);
        await using (var backend = OnnxRuntimeBackend.Create(dense))
        {
            using var outputs = await backend.ExecuteAsync(new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 2, 3, Size, Size)));
            var map = outputs["stain_density"];
            Assert.Equal([2L, 2, 2, 2], map.Shape.ToArray());
            var values = map.ToArray<float>();
            var inv = Reference.Deconvolution();
            for (var n = 0; n < 2; n++)
            {
                for (var stain = 0; stain < 2; stain++)
                {
                    for (var cy = 0; cy < 2; cy++)
                    {
                        for (var cx = 0; cx < 2; cx++)
                        {
                            double sum = 0;
                            for (var y = cy * 8; y < (cy + 1) * 8; y++)
                            {
                                for (var x = cx * 8; x < (cx + 1) * 8; x++)
                                {
                                    var p = (n * 3 * plane) + (y * Size) + x;
                                    sum += Math.Clamp(Reference.Concentration(inv, pixels[p], pixels[p + plane], pixels[p + (2 * plane)], stain), 0, 3);
                                }
                            }
                            Assert.Equal(sum / 64, values[(((((n * 2) + stain) * 2) + cy) * 2) + cx], 1e-4);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public async Task ParallelInstancesGiveTheSameResults()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, Size));
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.Load(modelDir), new OnnxRuntimeOptions { Instances = 3, Cores = 2 });
        Assert.Equal(3, backend.InstanceCount);
        Assert.Equal(1, backend.IntraOpThreads);
        var pixels = Images.Random(4, Size, seed: 5);
        var expected = Reference.MeanHematoxylin(pixels, 4, Size);
        var runs = Enumerable.Range(0, 12).Select(_ => Task.Run(async () =>
        {
            using var inputs = new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 4, 3, Size, Size));
            using var outputs = await backend.ExecuteAsync(inputs);
            return outputs["hematoxylin_od"].ToArray<float>();
        }));
        var results = await Task.WhenAll(runs);
        foreach (var r in results)
        {
            Assert.Equal(results[0], r);
            for (var n = 0; n < 4; n++)
            {
                Assert.Equal(expected[n], r[n], 1e-4);
            }
        }
    }

    [Fact]
    public async Task StartedInstancesLoadTogetherAndServeBatchesOnceReady()
    {
        using var dir = new TempDir();
        var modelDir = ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, Size));
        await using var backend = OnnxRuntimeBackend.Start(ModelDescription.Load(modelDir), new OnnxRuntimeOptions { Instances = 2, Cores = 2 });
        Assert.Equal(2, backend.InstanceCount);
        var pixels = Images.Random(3, Size, seed: 9);
        // Sent at once: each batch waits for the sessions, then runs.
        var runs = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var inputs = new TensorSet().Add("image", Images.AsTensor(pixels, TensorDataType.UInt8, 3, 3, Size, Size));
            using var outputs = await backend.ExecuteAsync(inputs);
            return outputs["hematoxylin_od"].ToArray<float>();
        }));
        var results = await Task.WhenAll(runs);
        await backend.Ready;
        var expected = Reference.MeanHematoxylin(pixels, 3, Size);
        foreach (var r in results)
        {
            Assert.Equal(results[0], r);
            Assert.Equal(expected[0], r[0], 1e-4);
        }
    }

    [Fact]
    public async Task AModelOnnxRuntimeRejectsFaultsReadyAndEveryBatchOfAStartedBackend()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder("rejected");
        b.Input("image", TensorDataType.UInt8, "N", 3, 8, 8);
        b.Node("NoSuchOperator", ["image"], "score");
        b.Output("score", TensorDataType.Fp32, "N", 1);
        var path = Path.Combine(dir.Path, "rejected.onnx");
        b.Save(path);
        var model = ModelDescription.Load(path);

        // Start returns while the sessions are created; their failure is Ready's, and every batch's.
        var backend = OnnxRuntimeBackend.Start(model, new OnnxRuntimeOptions { Instances = 2, Cores = 2 });
        var ex = await Assert.ThrowsAsync<ModelConfigException>(() => backend.Ready);
        Assert.Contains("ONNX Runtime cannot create a session", ex.Message);
        Assert.Contains("NoSuchOperator", ex.Message);
        using var inputs = new TensorSet().Add("image", Tensor.Rent(TensorDataType.UInt8, [1, 3, 8, 8]));
        Assert.Contains("NoSuchOperator", (await Assert.ThrowsAsync<ModelConfigException>(async () => await backend.ExecuteAsync(inputs))).Message);
        await backend.DisposeAsync();
        // Create reports the same error.
        Assert.Contains("NoSuchOperator", Assert.Throws<ModelConfigException>(() => OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 2, Cores = 2 })).Message);
    }

    [Fact]
    public async Task PartialBatchFromAFullSizeBufferWorks()
    {
        using var dir = new TempDir();
        var built = DemoModels.MeanIntensity(TensorDataType.UInt8, 8);
        built.Config.MaxBatchSize = 4;
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, built)), new OnnxRuntimeOptions { WarmupBatchSize = 4 });
        using var full = Tensor.Rent(TensorDataType.UInt8, [4, 3, 8, 8]);
        for (var n = 0; n < 4; n++)
        {
            full.Bytes.Slice(n * 192, 192).Fill((byte)(10 * (n + 1)));
        }
        using var partial = full.SliceBatch(0, 3);
        using var outputs = await backend.ExecuteAsync(new TensorSet().Add("image", partial));
        Assert.Equal([10f, 20f, 30f], outputs["mean_intensity"].ToArray<float>());
        using var tooMany = Tensor.Rent(TensorDataType.UInt8, [5, 3, 8, 8]);
        await Assert.ThrowsAsync<InferenceRequestException>(async () => await backend.ExecuteAsync(new TensorSet().Add("image", tooMany)));
    }

    [Fact]
    public async Task WrongRequestShapeOrTypeIsABadRequest()
    {
        using var dir = new TempDir();
        await using var backend = OnnxRuntimeBackend.Create(ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, DemoModels.HematoxylinOd(TensorDataType.UInt8, Size))));
        using var wrongShape = new TensorSet().Add("image", Tensor.Rent(TensorDataType.UInt8, [1, 3, Size, Size + 1]));
        var ex = await Assert.ThrowsAsync<InferenceRequestException>(async () => await backend.ExecuteAsync(wrongShape));
        Assert.Contains("unexpected shape for input 'image'", ex.Message);
        using var wrongType = new TensorSet().Add("image", Tensor.Rent(TensorDataType.Fp32, [1, 3, Size, Size]));
        ex = await Assert.ThrowsAsync<InferenceRequestException>(async () => await backend.ExecuteAsync(wrongType));
        Assert.Contains("expects 'UINT8'", ex.Message);
        using var wrongName = new TensorSet().Add("pixels", Tensor.Rent(TensorDataType.UInt8, [1, 3, Size, Size]));
        await Assert.ThrowsAsync<InferenceRequestException>(async () => await backend.ExecuteAsync(wrongName));
    }

    [Fact]
    public void UnavailableDeviceIsAClearError()
    {
        using var dir = new TempDir();
        var model = ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, DemoModels.MeanIntensity(TensorDataType.UInt8, 8)));
        if (ExecutionProviders.Available().Contains(ExecutionProviders.CudaProvider))
        {
            return; // a GPU build: nothing to assert here
        }
        var ex = Assert.Throws<DeviceConfigException>(() => OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions().WithDevice("cuda")));
        Assert.Contains("this build has no CUDA provider", ex.Message);
        Assert.Contains("use the GPU image / -p:HistoscaleGpu=true", ex.Message);
        ex = Assert.Throws<DeviceConfigException>(() => OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions().WithDevice("tensorrt:1")));
        Assert.Contains("--device tensorrt: this build has no TensorRT provider", ex.Message);
        Assert.Throws<DeviceConfigException>(() => new OnnxRuntimeOptions().WithDevice("tpu"));
        Assert.Equal((InferenceDevice.TensorRt, 1), ExecutionProviders.Parse("TensorRT:1"));
    }

    private static float MaxOf(ReadOnlySpan<float> values)
    {
        var max = float.MinValue;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }
        return max;
    }
}
