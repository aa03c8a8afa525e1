using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;

namespace Histoscale.Pipeline.Tests.Support;

/// <summary>
/// Small synthetic slides and models, generated once per test run into a shared folder (each is deterministic, so
/// sharing them between tests changes nothing but time).
/// </summary>
internal static class TestData
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "histoscale-pipeline-tests", "shared-" + Environment.ProcessId);
    private static readonly Lock Gate = new();

    /// <summary>
    /// A 1500×1100 Aperio-style slide (0.499 µm/px, 240-px JPEG tiles, 4× levels) with tissue and glass; other
    /// layouts have 2× levels, and <paramref name="mpp"/> overrides the layout's µm/px.
    /// </summary>
    public static string Slide(int seed = 1, int width = 1500, int height = 1100, SynthLayout layout = SynthLayout.Svs, double? mpp = null) =>
        Make($"slide-{seed}-{width}x{height}-{layout}{(mpp is { } m ? "-" + m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}.{(layout == SynthLayout.Svs ? "svs" : "tif")}", path =>
            SlideSynthesizer.Write(path, new SynthOptions { Width = width, Height = height, Seed = seed, Layout = layout, MicronsPerPixel = mpp, MaxDegreeOfParallelism = 2 }));

    /// <summary>
    /// <see cref="Slide"/>'s tissue (same seed: the same stain concentrations everywhere) stained with other
    /// haematoxylin and eosin optical densities: a known stain change in OD space.
    /// </summary>
    public static string StainedSlide(int seed, float[] haematoxylinOd, float[] eosinOd, int width = 1500, int height = 1100) =>
        Make($"stained-{seed}-{width}x{height}-{string.Join('_', haematoxylinOd.Concat(eosinOd).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}.svs", path =>
            SlideSynthesizer.Write(path, new SynthOptions
            {
                Width = width,
                Height = height,
                Seed = seed,
                HaematoxylinOd = haematoxylinOd,
                EosinOd = eosinOd,
                MaxDegreeOfParallelism = 2,
            }));

    public static string Model(BuiltModel model) => Make("models/" + model.Name, path =>
        ModelRepositoryWriter.Write(Path.GetDirectoryName(path)!, model));

    private static string Make(string name, Action<string> create)
    {
        var path = Path.Combine(Root, name);
        lock (Gate)
        {
            if (!Path.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                create(path);
            }
        }
        return path;
    }
}
