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

    /// <summary>A folder holding no slide files but DICOM Part 10 files is one DICOM whole-slide series: the folder is the slide.</summary>
    [Fact]
    public void AFolderOfDicomInstancesIsOneSlide()
    {
        using var dir = new TempDir();
        var part10 = new byte[200];
        "DICM"u8.CopyTo(part10.AsSpan(128));
        File.WriteAllBytes(dir["wsi-000000.dcm"], part10);
        File.WriteAllBytes(dir["wsi-000001.dcm"], part10);
        File.WriteAllText(dir["notes.txt"], "");
        Assert.Equal([Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir.Path))], SlideInputs.Expand([dir.Path + Path.DirectorySeparatorChar]));
        Assert.Equal(Path.GetFileName(dir.Path), SlideInputs.NameOf(SlideInputs.Expand([dir.Path])[0]));
        // Without DICOM files a folder of no slides still lists nothing.
        File.Delete(dir["wsi-000000.dcm"]);
        File.Delete(dir["wsi-000001.dcm"]);
        Assert.Empty(SlideInputs.Expand([dir.Path]));
    }

    private sealed class XyzFormat : ISlideFormat
    {
        public string Name => "xyz";

        public IReadOnlyList<string> Extensions { get; } = [".xyz"];

        public SlideLayout? TryOpen(SlideProbe probe) => null;
    }
}
