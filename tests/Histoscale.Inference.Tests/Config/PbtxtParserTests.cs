using Histoscale.Inference.Config;
using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests.Config;

public class ModelConfigReaderTests
{
    // Shaped like the examples in Triton's model_configuration.md (densenet_onnx and friends).
    private const string TritonExample = """
        name: "densenet_onnx"
        platform: "onnxruntime_onnx"
        max_batch_size : 8
        # inputs
        input [
          {
            name: "data_0"
            data_type: TYPE_FP32
            format: FORMAT_NCHW
            dims: [ 3, 224, 224 ]
            reshape: { shape: [ 1, 3, 224, 224 ] }
          }
        ]
        output [
          {
            name: "fc6_1"
            data_type: TYPE_FP32
            dims: [ 1000 ]
            reshape { shape: [ 1, 1000, 1, 1 ] }
            label_filename: "densenet_labels.txt"
          }
        ]
        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 100
          default_queue_policy { max_queue_size: 16 timeout_action: DELAY default_timeout_microseconds: 5 }
        }
        instance_group [ { count: 2, kind: KIND_CPU }, { count: 1 kind: KIND_GPU gpus: [ 0, 1 ] } ]
        version_policy: { specific: { versions: [1, 3] } }
        parameters { key: "histoscale.tile_size" value: { string_value: "224" } }
        parameters: { key: "note" value { string_value: 'it\'s "quoted"\n' } }
        optimization { execution_accelerators { cpu_execution_accelerator: [ { name: "openvino" } ] } }
        model_warmup [ { name: "zeros" batch_size: 1 } ]
        """;

    [Fact]
    public void ReadsTritonExample()
    {
        var c = ModelConfigReader.Parse(TritonExample);
        Assert.Equal("densenet_onnx", c.Name);
        Assert.Equal("onnxruntime_onnx", c.Platform);
        Assert.Equal(8, c.MaxBatchSize);
        var input = Assert.Single(c.Inputs);
        Assert.Equal("data_0", input.Name);
        Assert.Equal(TensorDataType.Fp32, input.DataType);
        Assert.Equal(TensorFormat.Nchw, input.Format);
        Assert.Equal([3L, 224, 224], input.Dims);
        Assert.Equal([1L, 3, 224, 224], input.Reshape!);
        Assert.Equal("densenet_labels.txt", c.Outputs[0].LabelFilename);
        Assert.Equal([4, 8], c.DynamicBatching!.PreferredBatchSizes);
        Assert.Equal(100, c.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(16, c.DynamicBatching.DefaultQueuePolicy!.MaxQueueSize);
        Assert.Equal("DELAY", c.DynamicBatching.DefaultQueuePolicy.TimeoutAction);
        Assert.Equal(2, c.InstanceGroups.Count);
        Assert.Equal(InstanceKind.Gpu, c.InstanceGroups[1].Kind);
        Assert.Equal([0, 1], c.InstanceGroups[1].Gpus);
        Assert.Equal(4, c.InstanceCount);
        Assert.Equal(VersionPolicyKind.Specific, c.VersionPolicy.Kind);
        Assert.Equal([1L, 3], c.VersionPolicy.Versions);
        Assert.Equal("224", c.Parameters["histoscale.tile_size"]);
        Assert.Equal("it's \"quoted\"\n", c.Parameters["note"]);
        Assert.Equal(["optimization", "model_warmup"], c.OtherFields.Select(f => f.Name));
    }

    [Fact]
    public void WriteThenReadRoundTrips()
    {
        var original = ModelConfigReader.Parse(TritonExample);
        var text = ModelConfigWriter.Write(original);
        var again = ModelConfigReader.Parse(text);
        // Writing the re-read config gives identical text: nothing lost, nothing reordered.
        Assert.Equal(text, ModelConfigWriter.Write(again));
        Assert.Equal(original.Inputs[0].Reshape, again.Inputs[0].Reshape);
        Assert.Equal(original.Parameters, again.Parameters);
        Assert.Equal(original.VersionPolicy.Versions, again.VersionPolicy.Versions);
        Assert.Equal(original.DynamicBatching!.DefaultQueuePolicy!.DefaultTimeoutMicroseconds, again.DynamicBatching!.DefaultQueuePolicy!.DefaultTimeoutMicroseconds);
        Assert.Contains("dims: [ 3, 224, 224 ]", text);
        Assert.Contains("model_warmup", text);
    }

    [Fact]
    public void MinimalConfigAndDefaults()
    {
        var c = ModelConfigReader.Parse("name: \"m\"\nbackend: \"onnxruntime\"\nversion_policy: { latest: { num_versions: 2 } }\ndynamic_batching { }");
        Assert.Equal(0, c.MaxBatchSize);
        Assert.Equal(VersionPolicy.Latest(2), c.VersionPolicy with { Versions = VersionPolicy.Latest(2).Versions });
        Assert.Equal(2, c.VersionPolicy.NumVersions);
        Assert.NotNull(c.DynamicBatching);
        Assert.Equal(1, c.InstanceCount);
        Assert.Equal("model.onnx", c.ModelFileName);
        var all = ModelConfigReader.Parse("version_policy { all { } }");
        Assert.Equal(VersionPolicyKind.All, all.VersionPolicy.Kind);
        Assert.Contains("all {", ModelConfigWriter.Write(all));
    }

    [Theory]
    [InlineData("name: \"m\"\nmax_batch_size: \"eight\"\n", 2, "max_batch_size")]
    [InlineData("name: \"m\"\ninput [ { name: \"x\" data_type: TYPE_FLOAT dims: [1] } ]\n", 2, "input[0].data_type")]
    [InlineData("name: \"m\"\n\ninput { name: \"x\" data_type: TYPE_FP32 dims: [1, 2 }\n", 3, "dims")]
    [InlineData("name: \"m\"\ninstance_group [ { kind: KIND_TPU } ]", 2, "instance_group[0].kind")]
    [InlineData("name: \"m\nplatform: \"x\"", 1, "unterminated string")]
    [InlineData("name: \"m\"\n\n\n  output {", 4, "missing '}'")]
    [InlineData("name \"m\"", 1, "expected ':'")]
    public void MalformedConfigNamesFileLineAndField(string text, int line, string mention)
    {
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfigReader.Parse(text, "repo/m/config.pbtxt"));
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"repo/m/config.pbtxt:{line}: ", ex.Message);
        Assert.Contains(mention, ex.Message);
    }

    [Fact]
    public void MissingDataTypeIsReported()
    {
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfigReader.Parse("input { name: \"x\" dims: 3 }"));
        Assert.Equal("input[0].data_type", ex.Field);
    }

    [Fact]
    public void PbtxtAcceptsAngleBracketsSeparatorsAndConcatenatedStrings()
    {
        var m = PbtxtParser.Parse("a < b: 1; c: \"x\" 'y' >, d: [ ] e: -1.5e3 f: true");
        var a = Assert.IsType<PbtxtMessageValue>(m.Fields[0].Value).Message;
        Assert.Equal("1", ((PbtxtScalar)a.Fields[0].Value).Text);
        Assert.Equal("xy", ((PbtxtScalar)a.Fields[1].Value).Text);
        Assert.Equal(["a", "e", "f"], m.Fields.Select(f => f.Name));
        Assert.Equal("-1.5e3", ((PbtxtScalar)m.Fields[1].Value).Text);
    }
}
