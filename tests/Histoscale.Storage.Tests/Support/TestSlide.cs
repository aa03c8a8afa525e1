using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Storage.Tests.Support;

/// <summary>One small synthetic Aperio slide written once per run by our own synthesiser, and its local pixels.</summary>
public static class TestSlide
{
    private static readonly Lazy<string> LazyPath = new(() =>
    {
        var dir = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"histoscale-storage-{Environment.ProcessId}")).FullName;
        var path = System.IO.Path.Combine(dir, "small.svs");
        SlideSynthesizer.Write(path, new SynthOptions { Width = 1500, Height = 1100, TileSize = 240, Layout = SynthLayout.Svs, Seed = 11, MaxDegreeOfParallelism = 2 });
        return path;
    });

    public static string Path => LazyPath.Value;

    public static byte[] Bytes => File.ReadAllBytes(Path);

    /// <summary>Every level read whole as RGBA, from the local file: the reference remote reads must equal.</summary>
    public static List<byte[]> LevelPixels(Slide slide) =>
        [.. slide.Levels.Select(l => slide.ReadRegion(l.Index, 0, 0, (int)l.Width, (int)l.Height).Pixels)];

    public static void AssertSamePixels(Slide remote)
    {
        using var local = Slide.Open(Path, new SlideOptions { Cache = null });
        Assert.Equal(local.Levels.Count, remote.Levels.Count);
        var expected = LevelPixels(local);
        var actual = LevelPixels(remote);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"level {i} pixels differ from the local file");
        }
        Assert.Equal(local.ReadAssociatedImage("label").Pixels, remote.ReadAssociatedImage("label").Pixels);
    }
}
