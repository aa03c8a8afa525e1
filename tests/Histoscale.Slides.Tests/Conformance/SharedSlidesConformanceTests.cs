using System.Globalization;
using System.Text.Json;
using Histoscale.Slides.Imaging;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Conformance;

/// <summary>
/// Conformance with OpenSlide 3.4.1's recorded view of ../shared/slides: geometry, MPP, objective power,
/// properties, associated images and regions (JPEG within MAD &lt; 1.0 per channel, lossless exact).
/// </summary>
[Trait("Category", "Conformance")]
public sealed class SharedSlidesConformanceTests
{
    public static TheoryData<string> SlideNames => new() { "aperio_full.svs", "small.svs", "generic.tif", "lzw.tif", "j2k.svs", "subifd.tif" };

    [SkippableTheory]
    [MemberData(nameof(SlideNames))]
    public void GeometryAndResolutionMatchOpenSlide(string name)
    {
        var (slide, reference) = Open(name);
        using var _ = slide;
        var levels = reference.GetProperty("levels").EnumerateArray().ToList();
        if (name == "subifd.tif")
        {
            // OpenSlide 3.4 sees only level 0 of a SubIFD pyramid; we see every level (checked against libvips below).
            Assert.Equal(5, slide.Levels.Count);
            levels = levels.Take(1).ToList();
        }
        else
        {
            Assert.Equal(levels.Count, slide.Levels.Count);
        }
        for (var i = 0; i < levels.Count; i++)
        {
            Assert.Equal(levels[i].GetProperty("width").GetInt64(), slide.Levels[i].Width);
            Assert.Equal(levels[i].GetProperty("height").GetInt64(), slide.Levels[i].Height);
            Assert.Equal(levels[i].GetProperty("downsample").GetDouble(), slide.Levels[i].Downsample, 9);
        }
        Assert.Equal(reference.GetProperty("vendor").GetString(), slide.Format);
        Assert.Equal(Optional(reference, "mpp_x"), slide.MppX);
        Assert.Equal(Optional(reference, "mpp_y"), slide.MppY);
        Assert.Equal(Optional(reference, "objective_power"), slide.ObjectivePower);
    }

    [SkippableTheory]
    [MemberData(nameof(SlideNames))]
    public void PropertiesMatchOpenSlide(string name)
    {
        var (slide, reference) = Open(name);
        using var _ = slide;
        foreach (var p in reference.GetProperty("properties").EnumerateObject())
        {
            if (p.Name == "openslide.quickhash-1" || (name == "subifd.tif" && p.Name.StartsWith("openslide.level", StringComparison.Ordinal)))
            {
                continue; // quickhash is OpenSlide's private digest; SubIFD levels differ on purpose (see above)
            }
            Assert.True(slide.Properties.TryGetValue(p.Name, out var value), $"{name}: property {p.Name} missing");
            Assert.Equal(p.Value.GetString(), value);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(SlideNames))]
    public void RegionsMatchOpenSlide(string name)
    {
        var (slide, reference) = Open(name);
        using var _ = slide;
        var lossless = name == "lzw.tif";
        foreach (var r in reference.GetProperty("regions").EnumerateArray())
        {
            var expected = ImageFiles.Load(Path.Combine(SharedData.SlidesDir, "refs", r.GetProperty("png").GetString()!));
            var actual = slide.ReadRegion(r.GetProperty("level").GetInt32(), r.GetProperty("x").GetInt64(), r.GetProperty("y").GetInt64(),
                r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32());
            Assert.Equal(expected.Width, actual.Width);
            Assert.Equal(expected.Height, actual.Height);
            var what = $"{name} {r.GetProperty("png").GetString()}";
            var integerPosition = r.GetProperty("level").GetInt32() == 0 || (r.GetProperty("x").GetInt64() == 0 && r.GetProperty("y").GetInt64() == 0);
            if (lossless && integerPosition)
            {
                Assert.True(actual.Pixels.AsSpan().SequenceEqual(expected.Pixels), $"{what}: lossless pixels differ");
            }
            else
            {
                Pixels.AssertClose(actual.Pixels, expected.Pixels, 1.0, what);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(SlideNames))]
    public void AssociatedImagesMatchOpenSlide(string name)
    {
        var (slide, reference) = Open(name);
        using var _ = slide;
        var associated = reference.GetProperty("associated").EnumerateObject().ToList();
        Assert.Equal(associated.Select(a => a.Name).Order(), slide.AssociatedImages.Keys.Order());
        foreach (var a in associated)
        {
            var size = a.Value.GetProperty("size");
            var image = slide.ReadAssociatedImage(a.Name);
            Assert.Equal(size[0].GetInt32(), image.Width);
            Assert.Equal(size[1].GetInt32(), image.Height);
            var expected = ImageFiles.Load(Path.Combine(SharedData.SlidesDir, "refs", a.Value.GetProperty("png").GetString()!));
            Pixels.AssertClose(image.Pixels, expected.Pixels, 1.0, $"{name} associated {a.Name}");
        }
    }

    [SkippableFact]
    public void SubIfdLevelsMatchLibvips()
    {
        var (slide, reference) = Open("subifd.tif");
        using var _ = slide;
        foreach (var s in reference.GetProperty("subifd_levels").EnumerateArray())
        {
            var level = slide.Levels[s.GetProperty("subifd").GetInt32() + 1];
            var expected = ImageFiles.Load(Path.Combine(SharedData.SlidesDir, "refs", s.GetProperty("png").GetString()!));
            Assert.Equal(expected.Width, level.Width);
            Assert.Equal(expected.Height, level.Height);
            var actual = new byte[level.Width * level.Height * 4];
            slide.ReadLevelRegion(level.Index, 0, 0, (int)level.Width, (int)level.Height, actual);
            Pixels.AssertClose(actual, expected.Pixels, 1.0, $"subifd level {level.Index}");
        }
    }

    private static double? Optional(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture) : null;

    private static (Slide Slide, JsonElement Reference) Open(string name)
    {
        SharedData.RequireSlides();
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(SharedData.SlidesDir, "refs", name + ".ref.json"))).RootElement;
        return (Slide.Open(Path.Combine(SharedData.SlidesDir, name)), reference);
    }
}
