using Histoscale.Inference.Models;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Inference.Tensors;
using Histoscale.Synthesis.Models;

namespace Histoscale.Inference.Tests.OnnxRuntime;

public class ProviderOptionsAndIoBindingTests
{
    [Fact]
    public void GpuSettingsBecomeOnnxRuntimeProviderOptionKeys()
    {
        var gpu = new GpuProviderOptions
        {
            TensorRtFp16 = true,
            TensorRtEngineCachePath = "/var/cache/trt",
            ArenaExtendStrategy = GpuProviderOptions.ParseArenaExtendStrategy("same"),
            ConvAlgoSearch = GpuProviderOptions.ParseConvAlgoSearch("Heuristic"),
            GpuMemoryLimitBytes = 4L << 30,
        };
        var cuda = ExecutionProviders.CudaProviderOptions(2, gpu);
        Assert.Equal("2", cuda["device_id"]);
        Assert.Equal("kSameAsRequested", cuda["arena_extend_strategy"]);
        Assert.Equal("HEURISTIC", cuda["cudnn_conv_algo_search"]);
        Assert.Equal("4294967296", cuda["gpu_mem_limit"]);
        var trt = ExecutionProviders.TensorRtProviderOptions(2, gpu);
        Assert.Equal("2", trt["device_id"]);
        Assert.Equal("1", trt["trt_fp16_enable"]);
        Assert.Equal("1", trt["trt_engine_cache_enable"]);
        Assert.Equal("/var/cache/trt", trt["trt_engine_cache_path"]);

        var defaults = new GpuProviderOptions();
        Assert.Equal("kNextPowerOfTwo", ExecutionProviders.CudaProviderOptions(0, defaults)["arena_extend_strategy"]);
        Assert.Equal("EXHAUSTIVE", ExecutionProviders.CudaProviderOptions(0, defaults)["cudnn_conv_algo_search"]);
        Assert.False(ExecutionProviders.CudaProviderOptions(0, defaults).ContainsKey("gpu_mem_limit"));
        Assert.Equal("0", ExecutionProviders.TensorRtProviderOptions(0, defaults)["trt_fp16_enable"]);
        Assert.False(ExecutionProviders.TensorRtProviderOptions(0, defaults).ContainsKey("trt_engine_cache_path"));

        Assert.Contains("expected pow2 or same", Assert.Throws<DeviceConfigException>(() => GpuProviderOptions.ParseArenaExtendStrategy("fast")).Message);
        Assert.Contains("expected exhaustive, heuristic or default", Assert.Throws<DeviceConfigException>(() => GpuProviderOptions.ParseConvAlgoSearch("x")).Message);
    }

    [Fact]
    public void IoBindingIsOnByDefaultOnlyForGpuDevices()
    {
        Assert.False(new OnnxRuntimeOptions().UsesIoBinding);
        Assert.True(new OnnxRuntimeOptions().WithDevice("cuda:1").UsesIoBinding);
        Assert.True(new OnnxRuntimeOptions().WithDevice("tensorrt").UsesIoBinding);
        Assert.True(new OnnxRuntimeOptions { IoBinding = true }.UsesIoBinding);
        Assert.False((new OnnxRuntimeOptions { IoBinding = false }).WithDevice("cuda").UsesIoBinding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IoBindingGivesByteIdenticalOutputs(bool cnn)
    {
        using var dir = new TempDir();
        var built = cnn ? DemoModels.SmallCnn(tileSize: 32, classes: 4, channels: 8) : DemoModels.HematoxylinOd(TensorDataType.UInt8, 32);
        var model = ModelDescription.Load(ModelRepositoryWriter.Write(dir.Path, built));
        await using var plain = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 1, IoBinding = false });
        await using var bound = OnnxRuntimeBackend.Create(model, new OnnxRuntimeOptions { Instances = 2, IoBinding = true });
        Assert.False(plain.UsesIoBinding);
        Assert.True(bound.UsesIoBinding);
        var input = model.Metadata.Inputs[0];
        foreach (var batch in new[] { 1, 3, 8, 3 })
        {
            var pixels = Images.Random(batch, 32, seed: 40 + batch);
            using var inputs = new TensorSet().Add(input.Name, Images.AsTensor(pixels, input.DataType, batch, 3, 32, 32));
            using var a = await plain.ExecuteAsync(inputs);
            using var b = await bound.ExecuteAsync(inputs);
            Assert.Equal(a.Select(t => t.Name), b.Select(t => t.Name));
            foreach (var name in a.Select(t => t.Name))
            {
                Assert.Equal(a[name].Shape.ToArray(), b[name].Shape.ToArray());
                Assert.True(a[name].Bytes.SequenceEqual(b[name].Bytes), $"output {name} differs at batch {batch}");
            }
        }
    }
}
