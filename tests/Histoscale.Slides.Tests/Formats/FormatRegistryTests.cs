using Histoscale.Slides.Formats;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>The extensions scans list are the registered formats' own, and nothing else.</summary>
public sealed class FormatRegistryTests
{
    [Fact]
    public void TheDefaultRegistryScansExactlyWhatItsReadersDeclare()
    {
        Assert.Equal([".btf", ".ome.btf", ".ome.tif", ".ome.tiff", ".svs", ".tf8", ".tif", ".tiff"], FormatRegistry.Extensions(FormatRegistry.Default));
        foreach (var name in new[] { "a.svs", "A.SVS", "b.ome.tiff", "c.tif", "/x/d.btf", "s3://bucket/dir/e.tiff", "https://host/f.svs?sig=1" })
        {
            Assert.True(FormatRegistry.IsSlideName(name, FormatRegistry.Default), name);
        }
        foreach (var name in new[] { "a.ndpi", "b.mrxs", "c.scn", "d.bif", "e.vsi", "f.czi", "g.isyntax", "h.txt", "svs", "https://host/tif?x=.svs" })
        {
            Assert.False(FormatRegistry.IsSlideName(name, FormatRegistry.Default), name);
        }
    }

    [Fact]
    public void AFormatAddedToTheListIsScannedWithoutAnyOtherTable()
    {
        ISlideFormat[] formats = [new ExtraFormat(), .. FormatRegistry.Default];
        Assert.True(FormatRegistry.IsSlideName("slide.xyz", formats));
        Assert.False(FormatRegistry.IsSlideName("slide.xyz", FormatRegistry.Default));
    }

    private sealed class ExtraFormat : ISlideFormat
    {
        public string Name => "extra";

        public IReadOnlyList<string> Extensions { get; } = [".xyz"];

        public SlideLayout? TryOpen(SlideProbe probe) => null;
    }
}
