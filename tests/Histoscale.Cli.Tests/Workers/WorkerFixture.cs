using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// Three synthetic slides (one large enough to be killed mid-slide, two small), a 32-pixel demo classifier, and the
/// tile tables a single <c>infer</c> process writes for them: what every worker run must reproduce byte for byte.
/// </summary>
public sealed class WorkerFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("histoscale-workers-").FullName;

    public string Big => Path.Combine(Dir, "big.svs");

    public string Small1 => Path.Combine(Dir, "small1.svs");

    public string Small2 => Path.Combine(Dir, "small2.svs");

    public string Model { get; private set; } = "";

    public string Reference => Path.Combine(Dir, "reference");

    /// <summary>The infer flags every job of these tests carries.</summary>
    public static readonly string[] Flags = ["--batch", "16", "--no-tissue"];

    public async Task InitializeAsync()
    {
        SlideSynthesizer.Write(Big, new SynthOptions { Width = 6000, Height = 4500, Seed = 11 });
        SlideSynthesizer.Write(Small1, new SynthOptions { Width = 1200, Height = 900, Seed = 12 });
        SlideSynthesizer.Write(Small2, new SynthOptions { Width = 1000, Height = 800, Seed = 13 });
        Model = ModelRepositoryWriter.Write(Path.Combine(Dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));
        var (code, _, stderr) = await Commands.ReaderCommandsTests.Run(["infer", Big, Small1, Small2, "--model", Model, "--out", Reference, .. Flags]);
        Assert.True(code == 0, stderr);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Bytes of a slide's tile table in the single-process reference.</summary>
    public byte[] ReferenceTable(string slide) => File.ReadAllBytes(Path.Combine(Reference, Path.GetFileNameWithoutExtension(slide) + ".tiles.csv"));
}
