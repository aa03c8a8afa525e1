using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Slides.Formats;

namespace Histoscale.Pipeline.Tests.Inputs;

/// <summary>Folders and globs expand to the files a registered format reads, never to other vendors' files or notes.</summary>
public class SlideInputsTests
{
    private static readonly string[] Files = ["a.svs", "b.ndpi", "c.txt", "d.tif", "e.mrxs", "f.scn", "g.ome.tiff", "h.bif", ".i.svs", "j.TIFF", "k.vsi", "l.czi"];

    [Fact]
    public void AFolderListsOnlyFilesAReaderIsRegisteredFor()
    {
        using var dir = new TempDir();
        foreach (var f in Files)
        {
            File.WriteAllText(dir[f], "");
        }
        string[] readable = [dir["a.svs"], dir["d.tif"], dir["g.ome.tiff"], dir["j.TIFF"]];
        Assert.Equal(readable, SlideInputs.Expand([dir.Path]));
        Assert.Equal(readable, SlideInputs.Expand([Path.Combine(dir.Path, "*")]));
        // Named explicitly, a file is kept, so that it fails as a slide with its reason.
        Assert.Equal([dir["b.ndpi"]], SlideInputs.Expand([dir["b.ndpi"]]));
    }

    [Fact]
    public void WhatAFolderListsComesFromTheFormatsTheSlidesAreOpenedWith()
    {
        using var dir = new TempDir();
        foreach (var f in new[] { "a.svs", "b.xyz", "c.tif" })
        {
            File.WriteAllText(dir[f], "");
        }
        Assert.Equal([dir["b.xyz"]], SlideInputs.Expand([dir.Path], [new XyzFormat()]));
        Assert.Equal([dir["a.svs"], dir["b.xyz"], dir["c.tif"]], SlideInputs.Expand([dir.Path], [new XyzFormat(), .. FormatRegistry.Default]));
    }

    private sealed class XyzFormat : ISlideFormat
    {
        public string Name => "xyz";

        public IReadOnlyList<string> Extensions { get; } = [".xyz"];

        public SlideLayout? TryOpen(SlideProbe probe) => null;
    }
}
