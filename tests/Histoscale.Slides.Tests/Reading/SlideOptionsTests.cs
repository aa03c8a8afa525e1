using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Reading;

/// <summary>Caches and URI schemes come from the options a caller passes, never from process-wide state.</summary>
public sealed class SlideOptionsTests
{
    [Fact]
    public void Slides_opened_with_different_options_do_not_share_a_cache_and_with_copies_do()
    {
        var path = TestSlides.Svs;
        var a = new SlideOptions();
        var b = new SlideOptions();
        using (var slide = Slide.Open(path, a))
        {
            slide.ReadRegion(0, 0, 0, 64, 64);
        }
        Assert.True(a.Cache!.Misses > 0);
        Assert.Equal(0, b.Cache!.Misses + b.Cache.Hits);

        var copy = a with { Formats = a.Formats };
        Assert.Same(a.Cache, copy.Cache);
    }

    [Fact]
    public void A_uri_scheme_opens_only_through_a_provider_passed_in_the_options()
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        var ex = Assert.Throws<SlideException>(() => Slide.Open("mem://slides/a.svs"));
        Assert.Contains("unsupported URI scheme 'mem'", ex.Message);

        using var slide = Slide.Open("mem://slides/a.svs", new SlideOptions { Sources = [new MemoryProvider(bytes)] });
        Assert.True(slide.Width > 0);
        // A provider given to one caller does not leak into another's opens.
        Assert.Throws<SlideException>(() => Slide.Open("mem://slides/a.svs"));
    }

    [Theory]
    [InlineData(JpegSimd.Scalar)]
    [InlineData(JpegSimd.Vector128)]
    [InlineData(JpegSimd.Avx2)]
    public void Every_jpeg_decoder_path_chosen_in_the_options_reads_the_same_pixels(JpegSimd simd)
    {
        using var auto = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        using var chosen = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null, JpegSimd = simd });
        Assert.Equal(auto.ReadRegion(0, 100, 100, 300, 200).Pixels, chosen.ReadRegion(0, 100, 100, 300, 200).Pixels);
    }

    private sealed class MemoryProvider(byte[] bytes) : IByteSourceProvider
    {
        public bool CanOpen(Uri uri) => uri.Scheme == "mem";

        public IByteSource Open(Uri uri) => new MemorySource(bytes, uri.OriginalString);
    }
}
