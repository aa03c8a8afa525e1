using System.Reflection;

namespace Histoscale.Cli.Tests.Architecture;

/// <summary>
/// The assemblies' dependencies go one way, as docs/architecture.md draws them: a change to the server never
/// rebuilds the reader, the pipeline never carries ONNX Runtime or gRPC, and the core inference types carry nothing
/// native. Read from the compiled assemblies' references, so a stray ProjectReference or package fails here.
/// </summary>
public sealed class DependencyTests
{
    /// <summary>Which Histoscale assemblies each may reference (the CLI, the host, may reference all).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Histoscale.Slides"] = [],
        ["Histoscale.Slides.Writing"] = ["Histoscale.Slides"],
        ["Histoscale.Storage"] = ["Histoscale.Slides"],
        ["Histoscale.Inference"] = [],
        ["Histoscale.Inference.OnnxRuntime"] = ["Histoscale.Inference"],
        ["Histoscale.KServe"] = ["Histoscale.Inference"],
        ["Histoscale.Pipeline"] = ["Histoscale.Slides", "Histoscale.Slides.Writing", "Histoscale.Inference", "Histoscale.Stain"],
        // Stain estimation and normalisation: arithmetic on pixels the pipeline (or a QC pass) hands in; nothing of ours below it.
        ["Histoscale.Stain"] = [],
        ["Histoscale.Quantization"] = ["Histoscale.Slides", "Histoscale.Inference", "Histoscale.Inference.OnnxRuntime", "Histoscale.Pipeline"],
        ["Histoscale.Synthesis"] = ["Histoscale.Slides", "Histoscale.Slides.Writing", "Histoscale.Inference"],
        ["Histoscale.Server"] = ["Histoscale.Inference", "Histoscale.Inference.OnnxRuntime", "Histoscale.KServe"],
        // Arithmetic over a price table and throughput figures the host measures: nothing of ours below it.
        ["Histoscale.Costing"] = [],
        // Text in, text out: deploy.yaml to manifests, with Costing's scaler settings; no SDK, no runtime below it.
        ["Histoscale.Deploy"] = ["Histoscale.Costing"],
        ["Histoscale.Archive"] = ["Histoscale.Slides", "Histoscale.Pipeline", "Histoscale.Inference"],
        ["Histoscale.Benchmarks"] = ["Histoscale.Slides", "Histoscale.Storage", "Histoscale.Inference", "Histoscale.Inference.OnnxRuntime", "Histoscale.KServe"],
        ["Histoscale.Workers"] = ["Histoscale.Slides", "Histoscale.Storage", "Histoscale.Inference", "Histoscale.Pipeline"],
    };

    /// <summary>Third-party assemblies that would mean a library grew a dependency it must not have.</summary>
    private static readonly Dictionary<string, string[]> Forbidden = new()
    {
        ["Histoscale.Slides"] = ["AWSSDK", "Azure.", "Google.", "Microsoft.ML.OnnxRuntime", "Grpc"],
        ["Histoscale.Inference"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "Google.Protobuf", "Magick", "SkiaSharp", "NetVips"],
        ["Histoscale.Costing"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "Google.", "AWSSDK", "Azure.", "Magick"],
        ["Histoscale.Stain"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "Google.", "AWSSDK", "Azure.", "Magick"],
        ["Histoscale.Deploy"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "Google.", "AWSSDK", "Azure.", "Magick", "Microsoft.AspNetCore"],
        ["Histoscale.Pipeline"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "Google.Protobuf", "AWSSDK", "Azure.", "Google."],
        // The backend is the host's to give: a worker carries no ONNX Runtime and no gRPC client of its own.
        ["Histoscale.Workers"] = ["Microsoft.ML.OnnxRuntime", "Grpc"],
        // The archive serves tiles and annotations; models run elsewhere (KServe's server, a worker), clouds come via SlideOptions.
        ["Histoscale.Archive"] = ["Microsoft.ML.OnnxRuntime", "Grpc", "AWSSDK", "Azure.", "Google."],
    };

    public static TheoryData<string> Libraries() => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Libraries))]
    public void A_library_references_only_the_assemblies_below_it(string name)
    {
        var references = Assembly.Load(name).GetReferencedAssemblies().Select(a => a.Name!).ToList();
        var ours = references.Where(r => r.StartsWith("Histoscale.", StringComparison.Ordinal)).ToList();
        var stray = ours.Except(Allowed[name]).ToList();
        Assert.True(stray.Count == 0, $"{name} references {string.Join(", ", stray)}; allowed: {string.Join(", ", Allowed[name])}");
        foreach (var prefix in Forbidden.GetValueOrDefault(name, []))
        {
            Assert.DoesNotContain(references, r => r.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Every_product_assembly_is_covered()
    {
        var shipped = Directory.GetFiles(AppContext.BaseDirectory, "Histoscale.*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => !n!.EndsWith(".Tests", StringComparison.Ordinal) && n != "Histoscale.Cli")
            .ToList();
        Assert.All(shipped, n => Assert.True(Allowed.ContainsKey(n!), $"{n} has no entry in the dependency rules (add it, and to docs/architecture.md)"));
    }
}
